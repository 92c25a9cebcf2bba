//! The synthetic population behind the simulated registries: families with children, their
//! ISEE, nursery enrolments and jobs, and businesses with their registration and DURC. The same
//! seed, size and reference date always give the same population, so a test can compute in
//! process what the registries will answer.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use time::{Date, Duration};

use crate::codes::{FiscalCode, PartitaIva};

/// The most families one population holds.
pub const POPULATION_MAX: usize = 1_000_000;

/// A municipality: Belfiore code, name, province, region, and whether it adheres to Nidi
/// Gratis.
#[derive(Debug)]
pub struct Municipality {
    /// Belfiore (cadastral) code, as in a codice fiscale.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// Province abbreviation.
    pub province: &'static str,
    /// Region.
    pub region: &'static str,
    /// Whether it adheres to Nidi Gratis (Lombardy only).
    pub adhering: bool,
}

const fn town(
    code: &'static str,
    name: &'static str,
    province: &'static str,
    region: &'static str,
    adhering: bool,
) -> Municipality {
    Municipality {
        code,
        name,
        province,
        region,
        adhering,
    }
}

/// The municipalities people live in: sixteen in Lombardy (two that do not adhere), five
/// elsewhere.
pub static MUNICIPALITIES: &[Municipality] = &[
    town("F205", "Milano", "MI", "Lombardia", true),
    town("C707", "Cinisello Balsamo", "MI", "Lombardia", true),
    town("F704", "Monza", "MB", "Lombardia", true),
    town("A794", "Bergamo", "BG", "Lombardia", true),
    town("B157", "Brescia", "BS", "Lombardia", true),
    town("I690", "Sesto San Giovanni", "MI", "Lombardia", true),
    town("C933", "Como", "CO", "Lombardia", true),
    town("L682", "Varese", "VA", "Lombardia", true),
    town("G388", "Pavia", "PV", "Lombardia", true),
    town("D150", "Cremona", "CR", "Lombardia", true),
    town("E648", "Lodi", "LO", "Lombardia", true),
    town("E507", "Lecco", "LC", "Lombardia", true),
    town("E897", "Mantova", "MN", "Lombardia", true),
    town("I829", "Sondrio", "SO", "Lombardia", true),
    town("E514", "Legnano", "MI", "Lombardia", false),
    town("B300", "Busto Arsizio", "VA", "Lombardia", false),
    town("L219", "Torino", "TO", "Piemonte", false),
    town("H501", "Roma", "RM", "Lazio", false),
    town("A944", "Bologna", "BO", "Emilia-Romagna", false),
    town("F952", "Novara", "NO", "Piemonte", false),
    town("G535", "Piacenza", "PC", "Emilia-Romagna", false),
];

/// How many of [`MUNICIPALITIES`] are in Lombardy (they come first).
const LOMBARD_MUNICIPALITIES: usize = 16;

const SURNAMES: &[&str] = &[
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Villa",
    "Brambilla",
    "Sala",
];
const MALE_NAMES: &[&str] = &[
    "Marco",
    "Luca",
    "Giuseppe",
    "Andrea",
    "Francesco",
    "Alessandro",
    "Matteo",
    "Lorenzo",
    "Davide",
    "Simone",
    "Federico",
    "Riccardo",
    "Stefano",
    "Paolo",
    "Giovanni",
    "Leonardo",
    "Tommaso",
    "Edoardo",
    "Gabriele",
    "Pietro",
];
const FEMALE_NAMES: &[&str] = &[
    "Giulia",
    "Francesca",
    "Chiara",
    "Sara",
    "Martina",
    "Valentina",
    "Alessia",
    "Elena",
    "Laura",
    "Federica",
    "Silvia",
    "Anna",
    "Sofia",
    "Aurora",
    "Ginevra",
    "Beatrice",
    "Alice",
    "Emma",
    "Giorgia",
    "Camilla",
];
/// ATECO 2007 codes businesses carry, with their section: manufacturing, construction, trade,
/// hospitality, ICT, professional services, finance.
const ATECO: &[&str] = &[
    "10.71.10", "25.62.00", "28.29.99", "41.20.00", "43.21.01", "45.20.10", "47.11.10", "56.10.11",
    "62.01.00", "62.02.00", "63.11.20", "69.20.11", "71.12.10", "73.11.01", "64.19.10", "66.22.01",
    "68.20.01", "01.11.10",
];
const COMPANY_WORDS: &[&str] = &[
    "Officine",
    "Tecnologie",
    "Servizi",
    "Costruzioni",
    "Digitale",
    "Meccanica",
    "Alimentari",
    "Consulenze",
    "Logistica",
    "Design",
];

/// A person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Codice fiscale.
    pub fiscal_code: FiscalCode,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub name: String,
    /// Date of birth.
    pub birth: Date,
    /// Employment at the job centres.
    pub employment: Employment,
}

/// A person's status at the job centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Employment {
    /// Employed or self-employed.
    Employed,
    /// Unemployed and registered.
    Unemployed,
    /// Neither.
    Inactive,
}

impl Employment {
    /// The job centres' word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Employment::Employed => "occupato",
            Employment::Unemployed => "disoccupato",
            Employment::Inactive => "inattivo",
        }
    }
}

/// A household's ISEE, from its DSU at INPS. Amounts in euro cents.
#[derive(Debug, Clone)]
pub struct Isee {
    /// Ordinary ISEE.
    pub ordinary_cents: u64,
    /// ISEE for benefits to minors ("minorenni"), which can differ when parents do not live
    /// together.
    pub minors_cents: u64,
    /// The DSU's protocol number.
    pub protocol: String,
    /// The last day the DSU is valid.
    pub valid_until: Date,
}

/// The kind of a nursery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NurseryKind {
    /// Run by the municipality.
    Public,
    /// Private, with places contracted by the municipality.
    Contracted,
    /// Private.
    Private,
}

impl NurseryKind {
    /// The register's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            NurseryKind::Public => "pubblico",
            NurseryKind::Contracted => "convenzionato",
            NurseryKind::Private => "privato",
        }
    }
}

/// A nursery in the register.
#[derive(Debug, Clone)]
pub struct Nursery {
    /// Register id, e.g. `nido-0007`: also its name on the token ledger.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: NurseryKind,
    /// Index into [`MUNICIPALITIES`].
    pub municipality: usize,
    /// Monthly fee in euro cents.
    pub monthly_fee_cents: u64,
}

/// A family.
#[derive(Debug, Clone)]
pub struct Family {
    /// Parents: the first is the household head who applies.
    pub parents: Vec<Person>,
    /// Children, the youngest last.
    pub children: Vec<Person>,
    /// Index into [`MUNICIPALITIES`].
    pub municipality: usize,
    /// Resident there since.
    pub resident_since: Date,
    /// Whether ANPR holds the household (missing records are part of the simulation).
    pub in_anpr: bool,
    /// The ISEE at INPS, if a DSU was filed.
    pub isee: Option<Isee>,
    /// The youngest child's enrolment: index into the nurseries.
    pub enrolment: Option<usize>,
}

/// A business's status at the Registro Imprese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyStatus {
    /// Active.
    Active,
    /// Ceased.
    Ceased,
    /// In liquidation.
    Liquidation,
}

impl CompanyStatus {
    /// The register's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompanyStatus::Active => "attiva",
            CompanyStatus::Ceased => "cessata",
            CompanyStatus::Liquidation => "in_liquidazione",
        }
    }
}

/// A DURC (documento unico di regolarità contributiva).
#[derive(Debug, Clone)]
pub struct Durc {
    /// Whether contributions are regular.
    pub regular: bool,
    /// Issue date.
    pub issued_on: Date,
    /// Last valid day (120 days on).
    pub valid_until: Date,
}

/// A business.
#[derive(Debug, Clone)]
pub struct Business {
    /// Partita IVA.
    pub vat: PartitaIva,
    /// Name.
    pub name: String,
    /// Index into [`MUNICIPALITIES`] of its seat.
    pub municipality: usize,
    /// ATECO code.
    pub ateco: &'static str,
    /// Employees.
    pub employees: u32,
    /// Status.
    pub status: CompanyStatus,
    /// Its DURC, if one was issued.
    pub durc: Option<Durc>,
}

/// Every family, nursery and business, and the indexes the registries look them up by.
#[derive(Debug)]
pub struct Population {
    /// The date the data describes ("today" for the registries).
    pub reference_date: Date,
    /// Families.
    pub families: Vec<Family>,
    /// Nurseries.
    pub nurseries: Vec<Nursery>,
    /// Businesses.
    pub businesses: Vec<Business>,
    /// Fiscal code → (family, Some(parent) or None for a child at the index).
    people: HashMap<FiscalCode, (usize, Role)>,
    /// Partita IVA → business.
    vat_index: HashMap<PartitaIva, usize>,
}

/// Whether a person is a parent or a child of their family, and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The parent at this index.
    Parent(usize),
    /// The child at this index.
    Child(usize),
}

impl Population {
    /// Generates `families` families (and a business for every four, a nursery for every
    /// forty, at least 10 and 20) from `seed`, as of `reference_date`. Requires
    /// `families <= POPULATION_MAX`.
    pub fn generate(seed: u64, families: usize, reference_date: Date) -> Population {
        assert!(families <= POPULATION_MAX, "population over POPULATION_MAX");
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let nurseries = make_nurseries(&mut rng, (families / 40).max(20));
        let mut population = Population {
            reference_date,
            families: Vec::with_capacity(families),
            nurseries,
            businesses: Vec::new(),
            people: HashMap::with_capacity(families * 4),
            vat_index: HashMap::new(),
        };
        while population.families.len() < families {
            let family = make_family(&mut rng, reference_date, &population.nurseries);
            // A code two people share (a real case, resolved by omocodia at the Agenzia) would
            // make lookups ambiguous: draw the family again.
            let codes = family
                .parents
                .iter()
                .chain(&family.children)
                .map(|person| &person.fiscal_code);
            let mut seen = Vec::new();
            if codes.into_iter().any(|code| {
                population.people.contains_key(code) || seen.contains(&code) || {
                    seen.push(code);
                    false
                }
            }) {
                continue;
            }
            let index = population.families.len();
            for (at, parent) in family.parents.iter().enumerate() {
                population
                    .people
                    .insert(parent.fiscal_code.clone(), (index, Role::Parent(at)));
            }
            for (at, child) in family.children.iter().enumerate() {
                population
                    .people
                    .insert(child.fiscal_code.clone(), (index, Role::Child(at)));
            }
            population.families.push(family);
        }
        let businesses = (families / 4).max(10);
        while population.businesses.len() < businesses {
            let business = make_business(&mut rng, reference_date);
            if population.vat_index.contains_key(&business.vat) {
                continue;
            }
            population
                .vat_index
                .insert(business.vat.clone(), population.businesses.len());
            population.businesses.push(business);
        }
        population
    }

    /// The family and role of the person with `code`.
    pub fn person(&self, code: &FiscalCode) -> Option<(&Family, Role)> {
        let &(family, role) = self.people.get(code)?;
        Some((&self.families[family], role))
    }

    /// The business with `vat`.
    pub fn business(&self, vat: &PartitaIva) -> Option<&Business> {
        self.vat_index
            .get(vat)
            .map(|&index| &self.businesses[index])
    }
}

impl Population {
    /// What the registries hold about `family`, as the facts the Nidi Gratis rules name, read
    /// straight from the synthetic data (no registry, client or evidence code): the oracle the
    /// tests check decisions against. A fact the registries lack is an `Err`.
    pub fn family_facts(&self, family: &Family, application_date: &str) -> crate::rules::Facts {
        use serde_json::json;

        let missing = || Err("not in the registry".to_owned());
        let mut facts = crate::rules::Facts::new();
        let mut put = |name: &str, value| {
            facts.insert(name.to_owned(), value);
        };
        put("application.date", Ok(json!(application_date)));
        let child = family.children.last().expect("a family has a child");
        if family.in_anpr {
            put(
                "anpr.region",
                Ok(json!(MUNICIPALITIES[family.municipality].region)),
            );
            put("anpr.child_birth_date", Ok(json!(date_text(child.birth))));
        } else {
            put("anpr.region", missing());
            put("anpr.child_birth_date", missing());
        }
        // The job centres are asked about the parents ANPR names.
        let employed = family
            .parents
            .iter()
            .all(|p| p.employment == Employment::Employed);
        if family.in_anpr {
            put("lavoro.parents_employed", Ok(json!(employed)));
        } else {
            put("lavoro.parents_employed", missing());
        }
        match &family.isee {
            Some(isee) => {
                put("inps.isee_minorenni_cents", Ok(json!(isee.minors_cents)));
                put("inps.isee_ordinario_cents", Ok(json!(isee.ordinary_cents)));
                put(
                    "inps.dsu_valid_until",
                    Ok(json!(date_text(isee.valid_until))),
                );
            }
            None => {
                put("inps.isee_minorenni_cents", missing());
                put("inps.isee_ordinario_cents", missing());
                put("inps.dsu_valid_until", missing());
            }
        }
        match family.enrolment.map(|index| &self.nurseries[index]) {
            Some(nursery) => {
                put("nidi.enrolled", Ok(json!(true)));
                put("nidi.nursery_kind", Ok(json!(nursery.kind.as_str())));
                let adhering = MUNICIPALITIES[nursery.municipality].adhering;
                put("nidi.municipality_adhering", Ok(json!(adhering)));
                put(
                    "nidi.monthly_fee_cents",
                    Ok(json!(nursery.monthly_fee_cents)),
                );
            }
            None => {
                put("nidi.enrolled", Ok(json!(false)));
                put("nidi.nursery_kind", Ok(json!("nessuno")));
                put("nidi.municipality_adhering", Ok(json!(false)));
                put("nidi.monthly_fee_cents", missing());
            }
        }
        facts
    }

    /// The Bando PMI facts of `business`, read straight from the synthetic data.
    pub fn business_facts(
        &self,
        business: &Business,
        application_date: &str,
    ) -> crate::rules::Facts {
        use serde_json::json;

        let mut facts = crate::rules::Facts::new();
        let mut put = |name: &str, value| {
            facts.insert(name.to_owned(), value);
        };
        put("application.date", Ok(json!(application_date)));
        put(
            "ri.region",
            Ok(json!(MUNICIPALITIES[business.municipality].region)),
        );
        put("ri.status", Ok(json!(business.status.as_str())));
        put("ri.employees", Ok(json!(business.employees)));
        put("ri.ateco", Ok(json!(business.ateco)));
        match &business.durc {
            Some(durc) => {
                let outcome = if durc.regular {
                    "regolare"
                } else {
                    "non_regolare"
                };
                put("durc.outcome", Ok(json!(outcome)));
                put("durc.valid_until", Ok(json!(date_text(durc.valid_until))));
            }
            None => {
                put("durc.outcome", Err("no DURC".to_owned()));
                put("durc.valid_until", Err("no DURC".to_owned()));
            }
        }
        facts
    }
}

/// A date as `YYYY-MM-DD`, the registries' and the rules' form.
pub fn date_text(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A sample from a log-normal distribution with this median and σ (Box–Muller).
fn log_normal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * normal).exp()
}

fn make_nurseries(rng: &mut ChaCha20Rng, count: usize) -> Vec<Nursery> {
    (0..count)
        .map(|index| {
            // Every Lombard municipality gets nurseries in turn; the first four get more.
            let municipality = if index < LOMBARD_MUNICIPALITIES {
                index
            } else {
                rng.gen_range(0..LOMBARD_MUNICIPALITIES.min(index % 7 + 4))
            };
            let kind = match rng.gen_range(0..100) {
                0..55 => NurseryKind::Public,
                55..85 => NurseryKind::Contracted,
                _ => NurseryKind::Private,
            };
            let (low, high) = match kind {
                NurseryKind::Public => (250, 500),
                NurseryKind::Contracted => (400, 650),
                NurseryKind::Private => (600, 900),
            };
            let fee_euro = rng.gen_range(low / 5..=high / 5) * 5;
            let word = [
                "Arcobaleno",
                "Girasole",
                "Coccinella",
                "Piccoli Passi",
                "Il Melograno",
            ][index % 5];
            Nursery {
                id: format!("nido-{index:04}"),
                name: format!("Nido {word} {}", MUNICIPALITIES[municipality].name),
                kind,
                municipality,
                monthly_fee_cents: fee_euro * 100,
            }
        })
        .collect()
}

fn make_person(
    rng: &mut ChaCha20Rng,
    surname: &str,
    birth: Date,
    birth_place: &str,
    employment: Employment,
) -> Person {
    let female = rng.gen_bool(0.5);
    let names = if female { FEMALE_NAMES } else { MALE_NAMES };
    let name = names[rng.gen_range(0..names.len())];
    Person {
        fiscal_code: FiscalCode::compute(surname, name, birth, female, birth_place),
        surname: surname.to_owned(),
        name: name.to_owned(),
        birth,
        employment,
    }
}

fn make_family(rng: &mut ChaCha20Rng, today: Date, nurseries: &[Nursery]) -> Family {
    let municipality = if rng.gen_bool(0.9) {
        rng.gen_range(0..LOMBARD_MUNICIPALITIES)
    } else {
        rng.gen_range(LOMBARD_MUNICIPALITIES..MUNICIPALITIES.len())
    };
    let place = MUNICIPALITIES[rng.gen_range(0..MUNICIPALITIES.len())].code;
    let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
    let employment = |rng: &mut ChaCha20Rng| match rng.gen_range(0..100) {
        0..78 => Employment::Employed,
        78..90 => Employment::Unemployed,
        _ => Employment::Inactive,
    };
    let parent_count = if rng.gen_bool(0.85) { 2 } else { 1 };
    let parents: Vec<Person> = (0..parent_count)
        .map(|at| {
            let birth = today - Duration::days(rng.gen_range(24 * 365..46 * 365));
            let job = employment(rng);
            let surname = if at == 0 {
                surname
            } else {
                SURNAMES[rng.gen_range(0..SURNAMES.len())]
            };
            make_person(rng, surname, birth, place, job)
        })
        .collect();
    // Older children first; the youngest, the one a nursery is for, is 0 to 4 years old.
    let child_count = match rng.gen_range(0..100) {
        0..55 => 1,
        55..88 => 2,
        _ => 3,
    };
    let youngest_days = rng.gen_range(30..4 * 365);
    let children: Vec<Person> = (0..child_count)
        .map(|at| {
            let older_by = (child_count - 1 - at) as i64 * rng.gen_range(400..1400);
            let birth = today - Duration::days(youngest_days + older_by);
            make_person(
                rng,
                surname,
                birth,
                MUNICIPALITIES[municipality].code,
                Employment::Inactive,
            )
        })
        .collect();
    let isee = rng.gen_bool(0.97).then(|| {
        let ordinary = log_normal(rng, 17_000.0, 0.6).clamp(0.0, 200_000.0);
        let minors = if rng.gen_bool(0.2) {
            ordinary * rng.gen_range(1.0..1.15)
        } else {
            ordinary
        };
        // Most DSUs run to the end of the year they were filed in; some have lapsed.
        let valid_until = if rng.gen_bool(0.95) {
            today + Duration::days(rng.gen_range(10..200))
        } else {
            today - Duration::days(rng.gen_range(1..200))
        };
        Isee {
            ordinary_cents: (ordinary * 100.0).round() as u64,
            minors_cents: (minors * 100.0).round() as u64,
            protocol: format!(
                "INPS-ISEE-{}-{:08}-00",
                today.year(),
                rng.gen_range(0..100_000_000u32)
            ),
            valid_until,
        }
    });
    // Most families with a small child enrolled it in a nursery of their municipality, when it
    // has one.
    let local: Vec<usize> = (0..nurseries.len())
        .filter(|&index| nurseries[index].municipality == municipality)
        .collect();
    let enrolment =
        (!local.is_empty() && rng.gen_bool(0.93)).then(|| local[rng.gen_range(0..local.len())]);
    Family {
        parents,
        children,
        municipality,
        resident_since: today - Duration::days(rng.gen_range(60..15 * 365)),
        in_anpr: rng.gen_bool(0.99),
        isee,
        enrolment,
    }
}

fn make_business(rng: &mut ChaCha20Rng, today: Date) -> Business {
    let municipality = if rng.gen_bool(0.85) {
        rng.gen_range(0..LOMBARD_MUNICIPALITIES)
    } else {
        rng.gen_range(LOMBARD_MUNICIPALITIES..MUNICIPALITIES.len())
    };
    let status = match rng.gen_range(0..100) {
        0..88 => CompanyStatus::Active,
        88..95 => CompanyStatus::Ceased,
        _ => CompanyStatus::Liquidation,
    };
    let durc = rng.gen_bool(0.97).then(|| {
        let issued_on = today - Duration::days(rng.gen_range(0..160));
        Durc {
            regular: rng.gen_bool(0.88),
            issued_on,
            valid_until: issued_on + Duration::days(120),
        }
    });
    Business {
        vat: PartitaIva::compute(rng.gen_range(0..10_000_000), rng.gen_range(1..=100)),
        name: format!(
            "{} {} S.r.l.",
            COMPANY_WORDS[rng.gen_range(0..COMPANY_WORDS.len())],
            SURNAMES[rng.gen_range(0..SURNAMES.len())]
        ),
        municipality,
        ateco: ATECO[rng.gen_range(0..ATECO.len())],
        employees: log_normal(rng, 12.0, 1.1).round().clamp(1.0, 5_000.0) as u32,
        status,
        durc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_population_and_codes_are_valid() {
        let date = time::macros::date!(2025 - 10 - 01);
        let one = Population::generate(7, 400, date);
        let two = Population::generate(7, 400, date);
        let other = Population::generate(8, 400, date);
        let codes = |p: &Population| -> Vec<String> {
            p.families
                .iter()
                .map(|f| f.parents[0].fiscal_code.to_string())
                .collect()
        };
        assert_eq!(codes(&one), codes(&two));
        assert_ne!(codes(&one), codes(&other));
        for family in &one.families {
            for person in family.parents.iter().chain(&family.children) {
                FiscalCode::parse(person.fiscal_code.as_str()).expect("valid code");
                assert!(one.person(&person.fiscal_code).is_some());
            }
        }
        for business in &one.businesses {
            PartitaIva::parse(business.vat.as_str()).expect("valid partita IVA");
            assert_eq!(
                one.business(&business.vat).map(|b| &b.vat),
                Some(&business.vat)
            );
        }
        assert_eq!(one.families.len(), 400);
        assert_eq!(one.businesses.len(), 100);
    }

    #[test]
    fn distributions_are_plausible() {
        let population = Population::generate(1, 4_000, time::macros::date!(2025 - 10 - 01));
        let share = |count: usize| count as f64 / population.families.len() as f64;
        let lombard = population
            .families
            .iter()
            .filter(|f| MUNICIPALITIES[f.municipality].region == "Lombardia")
            .count();
        assert!((0.85..0.95).contains(&share(lombard)), "{lombard}");
        let with_isee: Vec<&Isee> = population.families.iter().flat_map(|f| &f.isee).collect();
        let under_25k = with_isee
            .iter()
            .filter(|isee| isee.minors_cents <= 2_500_000)
            .count();
        assert!((0.6..0.85).contains(&(under_25k as f64 / with_isee.len() as f64)));
        let no_isee = population
            .families
            .iter()
            .filter(|f| f.isee.is_none())
            .count();
        assert!((0.01..0.06).contains(&share(no_isee)), "{no_isee}");
        let large = population
            .businesses
            .iter()
            .filter(|b| b.employees >= 50)
            .count();
        assert!(large > 0 && large < population.businesses.len() / 3);
    }
}
