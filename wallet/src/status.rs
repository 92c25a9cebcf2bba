//! Status lists: the IETF Token Status List (`statuslist+jwt`, 2 bits per credential: valid,
//! invalid, suspended) for SD-JWT VC, and the W3C Bitstring Status List (one list per purpose,
//! revocation and suspension) for VC 2.0. Both views are drawn from one table of statuses per
//! issuer and list, so every credential of an issuer hides among [`LIST_ENTRIES`] others.

use std::io::Write as _;

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use rand::Rng as _;

use crate::jose::b64;
use crate::Error;

/// Entries per list: 2^17, the herd that hides each credential's index.
pub const LIST_ENTRIES: u32 = 131_072;
/// Bits per entry in the Token Status List.
pub const TOKEN_STATUS_BITS: u8 = 2;
/// A list is closed to new credentials when this share of it is allocated (in percent), so
/// that random allocation stays cheap and indices stay unpredictable.
pub const LIST_FILL_PERCENT_MAX: u32 = 75;

/// The status of one credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// 0x00: valid.
    Valid = 0,
    /// 0x01: revoked, for good.
    Invalid = 1,
    /// 0x02: suspended; may be reinstated.
    Suspended = 2,
}

impl Status {
    /// Reads the two-bit value.
    pub fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Status::Valid),
            1 => Some(Status::Invalid),
            2 => Some(Status::Suspended),
            _ => None,
        }
    }

    /// Whether the status may change to `next`. Revocation is final.
    pub fn may_become(self, next: Status) -> bool {
        self != Status::Invalid && self != next
    }
}

/// The purpose of a W3C Bitstring Status List.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Set bit = revoked.
    Revocation,
    /// Set bit = suspended.
    Suspension,
}

impl Purpose {
    /// The `statusPurpose` value.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }
}

/// One list's statuses in memory: two bits per entry, and which entries are allocated.
#[derive(Clone)]
pub struct List {
    statuses: Vec<u8>,
    allocated: Vec<u64>,
    allocated_count: u32,
}

impl Default for List {
    fn default() -> Self {
        List {
            statuses: vec![0; (LIST_ENTRIES as usize) * usize::from(TOKEN_STATUS_BITS) / 8],
            allocated: vec![0; LIST_ENTRIES as usize / 64],
            allocated_count: 0,
        }
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "List({} of {LIST_ENTRIES} allocated)",
            self.allocated_count
        )
    }
}

impl List {
    /// Whether the list still takes new credentials.
    pub fn has_room(&self) -> bool {
        self.allocated_count < LIST_ENTRIES / 100 * LIST_FILL_PERCENT_MAX
    }

    /// Picks an unallocated index uniformly at random and marks it allocated.
    /// Requires [`List::has_room`].
    pub fn allocate(&mut self) -> u32 {
        assert!(self.has_room(), "allocate on a full list");
        let mut rng = rand::thread_rng();
        loop {
            let index = rng.gen_range(0..LIST_ENTRIES);
            if !self.is_allocated(index) {
                self.mark_allocated(index);
                return index;
            }
        }
    }

    /// Marks `index` allocated (when replaying the store).
    pub fn mark_allocated(&mut self, index: u32) {
        if !self.is_allocated(index) {
            self.allocated[index as usize / 64] |= 1 << (index % 64);
            self.allocated_count += 1;
        }
    }

    /// Whether `index` belongs to a credential.
    pub fn is_allocated(&self, index: u32) -> bool {
        index < LIST_ENTRIES && self.allocated[index as usize / 64] & (1 << (index % 64)) != 0
    }

    /// The status at `index` (valid for every unallocated index).
    pub fn get(&self, index: u32) -> Status {
        assert!(index < LIST_ENTRIES);
        let bit = index as usize * 2;
        Status::from_bits((self.statuses[bit / 8] >> (bit % 8)) & 0b11)
            .expect("only 0, 1 and 2 are ever written")
    }

    /// Sets the status at `index`.
    pub fn set(&mut self, index: u32, status: Status) {
        assert!(index < LIST_ENTRIES);
        let bit = index as usize * 2;
        let byte = &mut self.statuses[bit / 8];
        *byte = (*byte & !(0b11 << (bit % 8))) | ((status as u8) << (bit % 8));
    }

    /// The Token Status List `lst`: 2 bits per entry, least significant bits first, ZLIB
    /// (RFC 1950) compressed, base64url.
    pub fn token_status_lst(&self) -> String {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&self.statuses)
            .expect("writing to a Vec cannot fail");
        b64(encoder.finish().expect("writing to a Vec cannot fail"))
    }

    /// The Bitstring Status List `encodedList` for `purpose`: one bit per entry, index 0 the
    /// most significant bit of the first byte, GZIP compressed, multibase base64url (`u`).
    pub fn bitstring_encoded(&self, purpose: Purpose) -> String {
        let wanted = match purpose {
            Purpose::Revocation => Status::Invalid,
            Purpose::Suspension => Status::Suspended,
        };
        let mut bits = vec![0u8; LIST_ENTRIES as usize / 8];
        for index in 0..LIST_ENTRIES {
            if self.get(index) == wanted {
                bits[index as usize / 8] |= 0x80 >> (index % 8);
            }
        }
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&bits)
            .expect("writing to a Vec cannot fail");
        format!(
            "u{}",
            b64(encoder.finish().expect("writing to a Vec cannot fail"))
        )
    }
}

/// Reads the status at `index` from a Token Status List `lst` (for verifiers of other
/// issuers' lists, and for tests).
pub fn read_token_status(lst: &str, bits: u8, index: u32) -> Result<u8, Error> {
    use std::io::Read as _;
    if !matches!(bits, 1 | 2 | 4 | 8) {
        return Err(Error::Malformed {
            what: "status_list.bits",
            reason: "must be 1, 2, 4 or 8".into(),
        });
    }
    let compressed = crate::jose::unb64(lst, "status_list.lst")?;
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .take(16 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .map_err(|_| Error::Malformed {
            what: "status_list.lst",
            reason: "not ZLIB data".into(),
        })?;
    let bit = index as usize * usize::from(bits);
    let byte = bytes.get(bit / 8).ok_or(Error::Malformed {
        what: "status_list",
        reason: format!("index {index} is outside the list"),
    })?;
    Ok((byte >> (bit % 8)) & ((1u16 << bits) - 1) as u8)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    #[test]
    fn token_status_list_example_from_the_draft() {
        // draft-ietf-oauth-status-list section 4.1: a 2-bit list whose statuses are
        // [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3] packs to bytes 0xc9 0x44 0xf9.
        let mut list = List::default();
        let statuses = [1u8, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        for (index, status) in statuses.iter().enumerate() {
            let bit = index * 2;
            list.statuses[bit / 8] |= status << (bit % 8);
        }
        assert_eq!(&list.statuses[..3], &[0xc9, 0x44, 0xf9]);
        let lst = list.token_status_lst();
        for (index, status) in statuses.iter().enumerate() {
            assert_eq!(read_token_status(&lst, 2, index as u32).unwrap(), *status);
        }
    }

    #[test]
    fn allocation_is_random_and_unique_and_statuses_round_trip() {
        let mut list = List::default();
        let indices: std::collections::BTreeSet<u32> = (0..1000).map(|_| list.allocate()).collect();
        assert_eq!(indices.len(), 1000);
        assert!(
            indices.iter().next_back().unwrap() > &(LIST_ENTRIES / 2),
            "indices spread over the list"
        );
        let index = *indices.iter().next().unwrap();
        list.set(index, Status::Suspended);
        assert_eq!(list.get(index), Status::Suspended);
        assert_eq!(
            read_token_status(&list.token_status_lst(), 2, index).unwrap(),
            2
        );
        assert!(Status::Suspended.may_become(Status::Valid));
        assert!(!Status::Invalid.may_become(Status::Valid));
    }

    #[test]
    fn bitstring_puts_index_zero_in_the_leftmost_bit() {
        use std::io::Read as _;
        let mut list = List::default();
        list.set(0, Status::Invalid);
        list.set(9, Status::Suspended);
        let decode = |encoded: String| {
            let gz = crate::jose::unb64(encoded.strip_prefix('u').unwrap(), "t").unwrap();
            let mut bits = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut bits)
                .unwrap();
            bits
        };
        let revocation = decode(list.bitstring_encoded(Purpose::Revocation));
        assert_eq!(revocation.len(), LIST_ENTRIES as usize / 8);
        assert_eq!(&revocation[..2], &[0x80, 0]);
        assert_eq!(
            &decode(list.bitstring_encoded(Purpose::Suspension))[..2],
            &[0, 0x40]
        );
    }
}
