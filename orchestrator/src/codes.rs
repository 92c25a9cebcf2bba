//! Italian identifiers the registries key their records on: the codice fiscale of a person
//! (DM 23/12/1976, with its check character) and the partita IVA of a business (DPR 633/1972,
//! art. 35, with its Luhn check digit). Each is a checked newtype: a value that exists is valid.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not 16 characters in the codice fiscale's pattern.
    #[error("a codice fiscale is 16 characters: 6 letters, 2 digits, a month letter, 2 digits, a letter, 3 digits, a check letter")]
    FiscalCodeShape,
    /// The check character does not match.
    #[error("the codice fiscale's check character is {want}, not {got}")]
    FiscalCodeCheck {
        /// The character given.
        got: char,
        /// The character the other fifteen call for.
        want: char,
    },
    /// Not 11 digits.
    #[error("a partita IVA is 11 digits")]
    VatShape,
    /// The check digit does not match.
    #[error("the partita IVA's check digit is {want}, not {got}")]
    VatCheck {
        /// The digit given.
        got: char,
        /// The digit the other ten call for.
        want: char,
    },
}

/// A codice fiscale, upper case, with a valid check character.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiscalCode(String);

/// The month letters, January to December.
const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";
/// The letters that stand for digits in a code made unique by "omocodia" (0 to 9).
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";

impl FiscalCode {
    /// Checks `text` (either case) and makes a code of it.
    pub fn parse(text: &str) -> Result<FiscalCode, CodeError> {
        let upper = text.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() != 16 {
            return Err(CodeError::FiscalCodeShape);
        }
        let digit_like = |b: u8| b.is_ascii_digit() || OMOCODIA_LETTERS.contains(&b);
        let shape = bytes[..6].iter().all(u8::is_ascii_uppercase)
            && bytes[6..8].iter().all(|&b| digit_like(b))
            && MONTH_LETTERS.contains(&bytes[8])
            && bytes[9..11].iter().all(|&b| digit_like(b))
            && bytes[11].is_ascii_uppercase()
            && bytes[12..15].iter().all(|&b| digit_like(b))
            && bytes[15].is_ascii_uppercase();
        if !shape {
            return Err(CodeError::FiscalCodeShape);
        }
        let want = fiscal_code_check(&bytes[..15]);
        if bytes[15] != want {
            return Err(CodeError::FiscalCodeCheck {
                got: bytes[15] as char,
                want: want as char,
            });
        }
        Ok(FiscalCode(upper))
    }

    /// Builds the code of a person. Requires `birth_place` to be a Belfiore code (a letter and
    /// three digits) and `day` in 1..=31.
    pub fn compute(
        surname: &str,
        name: &str,
        birth: time::Date,
        female: bool,
        birth_place: &str,
    ) -> FiscalCode {
        assert!(birth_place.len() == 4, "a Belfiore code is 4 characters");
        let mut code = String::with_capacity(16);
        code.push_str(&surname_part(surname));
        code.push_str(&name_part(name));
        code.push_str(&format!("{:02}", birth.year().rem_euclid(100)));
        code.push(MONTH_LETTERS[usize::from(u8::from(birth.month())) - 1] as char);
        code.push_str(&format!("{:02}", birth.day() + if female { 40 } else { 0 }));
        code.push_str(&birth_place.to_ascii_uppercase());
        let check = fiscal_code_check(code.as_bytes());
        code.push(check as char);
        FiscalCode(code)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check character of the first 15 characters (DM 23/12/1976, art. 7): odd positions
/// (1-based) through a table, even positions at their value, the sum modulo 26 as a letter.
fn fiscal_code_check(first15: &[u8]) -> u8 {
    // The value of 0-9 and A-Z in an odd position; 0-9 and A-J share values.
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(index, &byte)| {
            let value = if byte.is_ascii_digit() {
                u32::from(byte - b'0')
            } else {
                u32::from(byte - b'A')
            };
            if index % 2 == 0 {
                ODD[value as usize]
            } else {
                value
            }
        })
        .sum();
    b'A' + (sum % 26) as u8
}

fn letters(text: &str) -> (Vec<u8>, Vec<u8>) {
    let upper: Vec<u8> = text
        .to_ascii_uppercase()
        .bytes()
        .filter(u8::is_ascii_uppercase)
        .collect();
    let vowel = |b: &u8| b"AEIOU".contains(b);
    (
        upper.iter().copied().filter(|b| !vowel(b)).collect(),
        upper.iter().copied().filter(vowel).collect(),
    )
}

/// Surname: its consonants, then its vowels, then X, the first three.
fn surname_part(surname: &str) -> String {
    let (consonants, vowels) = letters(surname);
    consonants
        .into_iter()
        .chain(vowels)
        .chain(std::iter::repeat(b'X'))
        .take(3)
        .map(char::from)
        .collect()
}

/// Name: with four or more consonants the first, third and fourth; otherwise as a surname.
fn name_part(name: &str) -> String {
    let (consonants, _) = letters(name);
    if consonants.len() >= 4 {
        [consonants[0], consonants[2], consonants[3]]
            .iter()
            .map(|&b| char::from(b))
            .collect()
    } else {
        surname_part(name)
    }
}

impl fmt::Display for FiscalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FiscalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FiscalCode({})", self.0)
    }
}

impl Serialize for FiscalCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FiscalCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FiscalCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        FiscalCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A partita IVA: 11 digits whose last is the Luhn check digit of the first ten.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitaIva(String);

impl PartitaIva {
    /// Checks `text` and makes a partita IVA of it.
    pub fn parse(text: &str) -> Result<PartitaIva, CodeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 11 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::VatShape);
        }
        let want = vat_check(&bytes[..10]);
        if bytes[10] != want {
            return Err(CodeError::VatCheck {
                got: bytes[10] as char,
                want: want as char,
            });
        }
        Ok(PartitaIva(text.to_owned()))
    }

    /// Builds a partita IVA from a 7-digit company number and a 3-digit office code.
    /// Requires `number < 10^7` and `office < 1000`.
    pub fn compute(number: u32, office: u16) -> PartitaIva {
        assert!(number < 10_000_000 && office < 1_000, "7 and 3 digits");
        let mut text = format!("{number:07}{office:03}");
        let check = vat_check(text.as_bytes());
        text.push(check as char);
        PartitaIva(text)
    }

    /// The partita IVA as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Luhn over ten digits: odd positions (1-based) as they are, even ones doubled (minus 9 when
/// above 9); the check digit brings the sum to a multiple of ten.
fn vat_check(first10: &[u8]) -> u8 {
    let sum: u32 = first10
        .iter()
        .enumerate()
        .map(|(index, &byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 {
                digit
            } else if digit * 2 > 9 {
                digit * 2 - 9
            } else {
                digit * 2
            }
        })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

impl fmt::Display for PartitaIva {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartitaIva {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartitaIva({})", self.0)
    }
}

impl Serialize for PartitaIva {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PartitaIva {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PartitaIva, D::Error> {
        let text = String::deserialize(deserializer)?;
        PartitaIva::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_textbook_fiscal_code_checks_and_is_rebuilt_from_its_person() {
        // Mario Rossi, male, born 10 December 1985, Belfiore code A562: the example most
        // libraries' tests use.
        let code = FiscalCode::parse("rssmra85t10a562s").expect("valid");
        assert_eq!(code.as_str(), "RSSMRA85T10A562S");
        let birth = time::macros::date!(1985 - 12 - 10);
        assert_eq!(
            FiscalCode::compute("Rossi", "Mario", birth, false, "A562"),
            code
        );
        // A woman's day is 40 more; four consonants in a name take the 1st, 3rd and 4th.
        let anna = FiscalCode::compute("Re", "Gianfranca", birth, true, "F205");
        assert_eq!(&anna.as_str()[..11], "REXGFR85T50");
        FiscalCode::parse(anna.as_str()).expect("a computed code parses");
    }

    #[test]
    fn fiscal_code_errors_are_precise() {
        assert_eq!(
            FiscalCode::parse("RSSMRA85T10A562T"),
            Err(CodeError::FiscalCodeCheck {
                got: 'T',
                want: 'S'
            })
        );
        for bad in [
            "",
            "RSSMRA85T10A562",
            "RSSMRA85Z10A562S",
            "RSS1RA85T10A562S",
        ] {
            assert_eq!(
                FiscalCode::parse(bad),
                Err(CodeError::FiscalCodeShape),
                "{bad}"
            );
        }
        // Omocodia: digits replaced by letters stay valid when the check is recomputed.
        let mut omocode = b"RSSMRA85T10A56N".to_vec();
        omocode.push(fiscal_code_check(&omocode));
        FiscalCode::parse(std::str::from_utf8(&omocode).expect("ascii")).expect("omocode");
    }

    #[test]
    fn partita_iva_luhn() {
        PartitaIva::parse("12345678903").expect("the textbook example");
        assert_eq!(
            PartitaIva::parse("12345678901"),
            Err(CodeError::VatCheck {
                got: '1',
                want: '3'
            })
        );
        assert_eq!(PartitaIva::parse("1234567890"), Err(CodeError::VatShape));
        assert_eq!(PartitaIva::parse("1234567890a"), Err(CodeError::VatShape));
        let made = PartitaIva::compute(1_234_567, 890);
        assert_eq!(made.as_str(), "12345678903");
    }
}
