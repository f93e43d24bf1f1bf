//! Makes `samples/advoware_snapshot.json`, deterministically: fixed appointments from the
//! table [`FIXED`], and random ones from a seeded generator, for a fictional firm.
//!
//! The firm, its people, clients, courts and towns are invented.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};
use serde::Serialize;

const NO_VALUE: &str = "0001-01-01T00:00:00Z";

/// Code, first name, surname, active. The entry without a code is skipped by the sync.
pub const EMPLOYEES: [(&str, &str, &str, bool); 8] = [
    ("SB", "Sabine", "Brenner", true),
    ("AO", "Adaeze", "Okafor", true),
    ("MÜ", "Moritz", "Übelacker", true),
    ("TK", "Tobias", "Kranich", true),
    ("LF", "Lena", "Falkner", true),
    ("RE", "Rieke", "Eilers", true),
    ("JW", "Jonas", "Wendel", false),
    ("", "", "Empfang", true),
];

/// Appointments with fixed values, one per line:
/// `code | Anwalt/Sb | FrNr | first day | HH:MM-HH:MM or all-day | last | text | place | notes | flags`.
/// `code` `*` means every active employee (general appointments); `own` means the
/// employee's code in both fields; `last` is `-` (the first day), a day, or a series rule
/// `daily|weekly|monthly|yearly <Turnus> <until day|open>`. SB's rows are what
/// `tests/calendar_ics.rs` checks value by value.
const FIXED: &str = r"
* | ALLE/ALLE | 900001 | 2026-10-06 | 08:30-09:30 | monthly 1 open | Kanzleibesprechung | Besprechungsraum 1 | |
* | / | 900002 | 2026-12-18 | 18:00-23:00 | - | Weihnachtsfeier | Gasthaus Zur Linde, Lindenau | |
* | ALLE/ | 900003 | 2026-12-31 | all-day | - | Kanzlei geschlossen (Silvester) | | |
* | Allgemein/Allgemein | 900004 | 2027-01-29 | 14:00-16:00 | - | Aktenvernichtung | | |
* | ALLE/ | 900005 | 2027-03-10 | 09:00-12:00 | - | Fortbildung Datenschutz | Videokonferenz | Zugangsdaten folgen per Mail |
* | Allgemein/ | 900006 | 2026-11-06 | 08:00-08:30 | weekly 1 2027-07-30 | Teamfrühstück | | |
* | ALLE/ALLE | 900007 | 2027-05-07 | all-day | - | Kanzlei geschlossen (Brückentag) | | |
* | Allgemein/ | 900008 | 2027-06-18 | all-day | - | Betriebsausflug | | |
* | / | 900009 | 2027-08-27 | 16:00-21:00 | - | Sommerfest | | |
* | ALLE/ | 900010 | 2027-10-14 | 10:00-10:30 | - | Brandschutzübung | | |
* | ALLE/ALLE | 900011 | 2027-10-31 | 02:00-03:30 | - | Serverwartung (Zeitumstellung) | | |
* | ALLE/ | 900012 | 2027-12-17 | all-day | - | Jahresabschluss | | |
SB | own | 1001 | 2027-07-21 | all-day | 2027-07-23 | Urlaub | | |
SB | own | 1002 | 2027-03-26 | 13:00-14:00 | - | Mandantengespräch Hartwig | Besprechungsraum 1 | Akte mitbringen |
SB | own | 1003 | 2027-03-29 | 13:00-14:00 | - | Mandantengespräch Sommerfeld | Besprechungsraum 2 | |
SB | own | 1004 | 2027-03-28 | 02:30-04:00 | - | Fristenkontrolle (Nachtschicht) | | |
SB | own | 1005 | 2027-10-31 | 02:30-03:30 | - | Fristenkontrolle (Zeitumstellung) | | |
SB | own | 1006 | 2026-01-05 | 09:00-09:30 | weekly 1 open | Jour fixe Familienrecht | Besprechungsraum 1 | |
SB | own | 1007 | 2027-02-01 | 08:00-08:15 | daily 1 2027-02-12 | Schriftsatzwoche Kellner | | |
SB | own | 1008 | 2026-11-16 | 14:00-16:00 | monthly 1 2027-11-16 | Mandanten-Sprechstunde | Kanzlei, Empfang | |
SB | own | 1009 | 2026-12-10 | all-day | yearly 1 2037-12-31 | Geburtstag Sabine Brenner | | |
SB | own | 1010 | 2027-01-14 | 08:00-09:00 | - | Arzttermin | Praxis Dr. Seidel | | private
SB | own | -101 | 2027-05-10 | 07:00-19:00 | 2027-05-11 | Dienstreise Nordhafen | Landgericht Nordhafen | |
SB | own | 1011 | 2027-04-20 | 10:30-12:00 | - | Vergleichsverhandlung Hartwig ./. Sommerfeld, Az. 3 O 212/26; Saal 4 | Landgericht Nordhafen, Saal 4 | Ablage: K:\\Akten\\2026\\Hartwig, bitte vorher Fristen prüfen, Schriftsatz der Gegenseite lesen und Vergleichsvorschlag abstimmen.\nRückfragen an LF. |
MÜ | own | 30510 | 2026-10-25 | 02:30-03:30 | - | Notdienst (Zeitumstellung) | | |
MÜ | own | 30511 | 2027-03-28 | 02:15-03:00 | - | Notdienst (Sommerzeit) | | |
TK | own | 40510 | 2027-03-28 | 10:00-12:00 | - | Wochenendbereitschaft | | |
";

const CLIENTS: [&str; 12] = [
    "Hartwig",
    "Sommerfeld",
    "Kellner",
    "Abendroth",
    "Wiegand",
    "Lindqvist",
    "Özdemir",
    "Brandstätter",
    "Mahlow",
    "Ferreira",
    "Nowicki",
    "Tiedemann",
];
const MATTERS: [&str; 8] = [
    "Mandantengespräch",
    "Besprechung",
    "Telefonkonferenz",
    "Vergleichsgespräch",
    "Akteneinsicht",
    "Beratung",
    "Vertragsentwurf durchsprechen",
    "Rückruf",
];
const PRIVATE: [&str; 4] = ["Zahnarzt", "Elternabend", "Kinder abholen", "Handwerker"];
const ABSENCES: [&str; 4] = ["Urlaub", "Homeoffice", "Fortbildung", "Krank"];
const COURTS: [&str; 4] = [
    "Amtsgericht Lindenau",
    "Landgericht Nordhafen",
    "Arbeitsgericht Lindenau",
    "Oberlandesgericht Nordhafen",
];
const PLACES: [&str; 5] = [
    "Besprechungsraum 1",
    "Besprechungsraum 2",
    "Videokonferenz",
    "Kanzlei, Empfang",
    "Beim Mandanten",
];
const NOTES: [&str; 5] = [
    "",
    "",
    "Akte mitbringen",
    "Vollmacht prüfen; Kostennote vorbereiten",
    "Unterlagen liegen im Sekretariat.\nRückfragen an LF.",
];

/// A record in the field order `TermineActiveSync` answers with.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    fr_nr: i64,
    text: String,
    anwalt: String,
    sb: String,
    datum: String,
    datum_bis: String,
    uhrzeit_bis: String,
    abwesenheit: u8,
    ort: String,
    notiz: String,
    privat: u8,
    dauertermin: u8,
    turnus: u32,
    turnus_art: u8,
    zuletzt_geaendert_am: String,
}

/// An employee entry in the (unverified) shape the snapshot source reads.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Employee<'a> {
    kuerzel: &'a str,
    vorname: &'a str,
    name: &'a str,
    aktiv: bool,
}

/// xorshift64*: small, fixed, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn days(&mut self, n: u64) -> TimeDelta {
        TimeDelta::days(self.below(n) as i64)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("generator dates exist")
}

fn weekday_from(mut first: NaiveDate) -> NaiveDate {
    while matches!(first.weekday(), Weekday::Sat | Weekday::Sun) {
        first += TimeDelta::days(1);
    }
    first
}

/// One appointment before it is written out.
struct Draft {
    frnr: i64,
    text: String,
    ort: String,
    notiz: String,
    first: NaiveDate,
    /// Start and end time of day; `None` for all-day entries.
    times: Option<((u32, u32), (u32, u32))>,
    /// The last day of a single entry, or the series end (`None`: open series).
    last: Option<NaiveDate>,
    /// `TurnusArt` and `Turnus`.
    series: Option<(u8, u32)>,
    privat: bool,
    /// `Anwalt` and `Sb` when they are not the employee's own code.
    parties: Option<(String, String)>,
}

impl Draft {
    fn timed(frnr: i64, text: &str, first: NaiveDate, from: (u32, u32), to: (u32, u32)) -> Self {
        Self {
            frnr,
            text: text.to_owned(),
            ort: String::new(),
            notiz: String::new(),
            first,
            times: Some((from, to)),
            last: Some(first),
            series: None,
            privat: false,
            parties: None,
        }
    }

    fn all_day(frnr: i64, text: &str, first: NaiveDate, last: NaiveDate) -> Self {
        Self {
            times: None,
            last: Some(last),
            ..Self::timed(frnr, text, first, (0, 0), (0, 0))
        }
    }

    fn every(mut self, turnus_art: u8, turnus: u32, until: Option<NaiveDate>) -> Self {
        self.series = Some((turnus_art, turnus));
        self.last = until;
        self
    }

    fn at(mut self, ort: &str, notiz: &str) -> Self {
        self.ort = ort.to_owned();
        self.notiz = notiz.to_owned();
        self
    }

    fn record(&self, code: &str, rng: &mut Rng) -> Record {
        // Advoware sends fractions of a second on some records and not on others.
        let fraction = match rng.below(20) {
            0..=2 => ".000",
            3 => ".1234567",
            _ => "",
        };
        let (start, end) = self.times.unwrap_or(((0, 0), (23, 59)));
        let datum = format!("{}T{:02}:{:02}:00{fraction}", self.first, start.0, start.1);
        let datum_bis = match self.last {
            Some(last) if self.times.is_none() && self.series.is_none() => {
                format!("{last}T23:59:00")
            }
            Some(last) => format!("{last}T00:00:00"),
            None => NO_VALUE.to_owned(),
        };
        let changed = match rng.below(10) {
            0 => NO_VALUE.to_owned(),
            _ => {
                let when = day(2026, 9, 1) + rng.days(90);
                let (h, m, s, ms) = (
                    7 + rng.below(11),
                    rng.below(60),
                    rng.below(60),
                    rng.below(1000),
                );
                format!("{when}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
            }
        };
        let (anwalt, sb) = self
            .parties
            .clone()
            .unwrap_or((code.to_owned(), code.to_owned()));
        let (turnus_art, turnus) = self.series.unwrap_or((0, 0));
        Record {
            fr_nr: self.frnr,
            text: self.text.clone(),
            anwalt,
            sb,
            datum,
            datum_bis,
            uhrzeit_bis: format!("{:02}:{:02}:00", end.0, end.1),
            abwesenheit: u8::from(self.times.is_none()),
            ort: self.ort.clone(),
            notiz: self.notiz.clone(),
            privat: u8::from(self.privat),
            dauertermin: u8::from(self.series.is_some()),
            turnus,
            turnus_art,
            zuletzt_geaendert_am: changed,
        }
    }
}

/// The rows of [`FIXED`] for `code` (and `*` rows when `active`).
fn fixed_drafts(code: &str, active: bool) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for line in FIXED.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        let [
            who,
            parties,
            frnr,
            first,
            time,
            last,
            text,
            ort,
            notiz,
            flags,
        ] = f[..]
        else {
            panic!("FIXED row has not 10 fields: {line}");
        };
        if who != code && !(who == "*" && active) {
            continue;
        }
        let frnr = frnr.parse().expect("FrNr");
        let first: NaiveDate = first.parse().expect("first day");
        let clock = |t: &str| -> (u32, u32) {
            let (h, m) = t.split_once(':').expect("HH:MM");
            (h.parse().expect("hour"), m.parse().expect("minute"))
        };
        let mut draft = match time.split_once('-') {
            _ if time == "all-day" => Draft::all_day(frnr, text, first, first),
            Some((from, to)) => Draft::timed(frnr, text, first, clock(from), clock(to)),
            None => panic!("bad time in {line}"),
        };
        let rule: Vec<&str> = last.split(' ').collect();
        draft = match rule[..] {
            ["-"] => draft,
            [single] => Draft {
                last: Some(single.parse().expect("last day")),
                ..draft
            },
            [freq, turnus, until] => {
                let art = ["daily", "weekly", "monthly", "yearly"]
                    .iter()
                    .position(|f| *f == freq);
                let art = art.expect("frequency") as u8 + 1;
                let until = (until != "open").then(|| until.parse().expect("until day"));
                draft.every(art, turnus.parse().expect("Turnus"), until)
            }
            _ => panic!("bad rule in {line}"),
        };
        if let Some((anwalt, sb)) = parties.split_once('/') {
            draft.parties = Some((anwalt.to_owned(), sb.to_owned()));
        }
        draft.privat = flags == "private";
        let notiz = notiz.replace("\\n", "\n").replace("\\\\", "\\");
        drafts.push(draft.at(ort, &notiz));
    }
    drafts
}

/// `count` random appointments of employee number `index`, from 2026-10 to 2027-12.
fn random_drafts(index: i64, count: i64, rng: &mut Rng) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for k in 0..count {
        let frnr = (index + 1) * 10_000 + k;
        let first = weekday_from(day(2026, 10, 1) + rng.days(457));
        let client = rng.pick(&CLIENTS);
        let (hour, minute) = (8 + rng.below(9) as u32, 15 * rng.below(4) as u32);
        let length = 30 + 15 * rng.below(8) as u32;
        let end = ((hour * 60 + minute + length) / 60, (minute + length) % 60);
        let notes = rng.pick(&NOTES);

        let timed = |text: &str| Draft::timed(frnr, text, first, (hour, minute), end);
        let draft = match rng.below(100) {
            0..=50 => {
                timed(&format!("{} {client}", rng.pick(&MATTERS))).at(rng.pick(&PLACES), notes)
            }
            51..=57 => Draft {
                privat: true,
                ..timed(rng.pick(&PRIVATE))
            },
            58..=69 => Draft::all_day(frnr, rng.pick(&ABSENCES), first, first),
            70..=75 => Draft::all_day(
                frnr,
                "Urlaub",
                first,
                first + TimeDelta::days(1) + rng.days(9),
            ),
            76..=79 => Draft {
                last: Some(first + TimeDelta::days(1) + rng.days(2)),
                ..Draft::timed(frnr, &format!("Schulung {client}"), first, (9, 0), (17, 0))
            },
            80..=83 => {
                let until = first + TimeDelta::days(4) + rng.days(10);
                let text = format!("Fristenlauf {client}");
                Draft::timed(frnr, &text, first, (8, 0), (8, 15)).every(1, 1, Some(until))
            }
            84..=90 => {
                let until = (rng.below(3) > 0).then(|| first + TimeDelta::days(60) + rng.days(180));
                let turnus = 1 + rng.below(2) as u32;
                timed(&format!("Wochenbesprechung {client}")).every(2, turnus, until)
            }
            91..=94 => {
                let until = first + TimeDelta::days(180) + rng.days(300);
                timed(&format!("Monatsgespräch {client}")).every(3, 1, Some(until))
            }
            95..=96 => {
                let text = format!("Jahrestag Mandat {client}");
                Draft::all_day(frnr, &text, first, first).every(4, 1, None)
            }
            _ => {
                let last = first + rng.days(3);
                Draft::all_day(
                    -(index + 1) * 100 - k,
                    "Abwesenheit (Dienstreise)",
                    first,
                    last,
                )
            }
        };
        drafts.push(draft);
    }
    drafts
}

/// Four court dates and one special entry (an all-day trip) per active employee.
fn court_drafts(index: i64, rng: &mut Rng) -> Vec<Draft> {
    let base = (index + 1) * 10_000 + 500;
    let mut drafts = Vec::new();
    for k in 0..4 {
        let first = weekday_from(day(2026, 11, 2) + TimeDelta::days(21 * k) + rng.days(14));
        let plaintiff = rng.pick(&CLIENTS);
        let defendant = rng.pick(&CLIENTS);
        let defendant = if defendant == plaintiff {
            "Tiedemann"
        } else {
            defendant
        };
        let text = format!("Verhandlung {plaintiff} ./. {defendant}");
        let hours = ((9 + k) as u32, 0);
        let draft = Draft::timed(base + k, &text, first, hours, (hours.0 + 1, 30));
        drafts.push(draft.at(rng.pick(&COURTS), "Robe nicht vergessen"));
    }
    let trip = Draft::timed(
        -(index + 1) * 100 - 99,
        "Auswärtstermin",
        day(2027, 9, 13),
        (6, 30),
        (20, 0),
    );
    drafts.push(trip.at(rng.pick(&COURTS), ""));
    drafts
}

/// The whole snapshot, as text: one record per line, so that diffs stay readable.
pub fn generate() -> String {
    let mut rng = Rng(0x5EED_CA1E_2026_1204);
    let mut lists: Vec<(&str, Vec<String>)> = Vec::new();

    for (index, (code, _, _, active)) in EMPLOYEES.iter().enumerate() {
        if code.is_empty() {
            continue;
        }
        let index = index as i64;
        let mut drafts = fixed_drafts(code, *active);
        drafts.extend(random_drafts(index, if *active { 42 } else { 8 }, &mut rng));
        if *active {
            drafts.extend(court_drafts(index, &mut rng));
        }

        let mut records: Vec<Record> = drafts.iter().map(|d| d.record(code, &mut rng)).collect();
        records.sort_by(|a, b| (&a.datum[..16], a.fr_nr).cmp(&(&b.datum[..16], b.fr_nr)));
        let mut lines: Vec<String> = records
            .iter()
            .map(|r| serde_json::to_string(r).expect("records serialise"))
            .collect();
        if *code == "LF" {
            // One broken record: the sync skips it with a warning and counts it.
            lines.push(
                concat!(
                    r#"{"FrNr":50999,"Text":"Rückruf Mandant","Anwalt":"LF","Sb":"LF","#,
                    r#""Datum":"31.02.2027 10:00","DatumBis":"0001-01-01T00:00:00Z","#,
                    r#""UhrzeitBis":"10:30:00","Abwesenheit":0,"Privat":0}"#
                )
                .to_owned(),
            );
        }
        lists.push((code, lines));
    }
    render(&lists)
}

fn render(lists: &[(&str, Vec<String>)]) -> String {
    let mut out = String::from("{\n");
    out.push_str(concat!(
        r#"  "firm": "Kanzlei Brenner Okafor & Partner, Lindenau (fictional; invented names only)","#,
        "\n",
        r#"  "notes": "Made by tests/calendar_sample/generator.rs (see tests/calendar_sample.rs). "#,
        r#"LF holds one malformed record (FrNr 50999) that the sync skips; "#,
        r#"the employee entry without Kuerzel is skipped too.","#,
        "\n",
    ));

    let employees: Vec<String> = EMPLOYEES
        .iter()
        .map(|&(kuerzel, vorname, name, aktiv)| {
            let e = Employee {
                kuerzel,
                vorname,
                name,
                aktiv,
            };
            format!("    {}", serde_json::to_string(&e).expect("JSON"))
        })
        .collect();
    let _ = write!(out, "  \"employees\": [\n{}\n  ],\n", employees.join(",\n"));

    let blocks: Vec<String> = lists
        .iter()
        .map(|(code, lines)| {
            format!(
                "    \"{code}\": [\n      {}\n    ]",
                lines.join(",\n      ")
            )
        })
        .collect();
    let _ = write!(
        out,
        "  \"appointments\": {{\n{}\n  }}\n}}\n",
        blocks.join(",\n")
    );
    out
}
