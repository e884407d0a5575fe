//! `cronjobs`: KSM's `internal/store/cronjob.go`. Base labels `namespace,cronjob`.
//!
//! `kube_cronjob_next_schedule_time` needs KSM's cron parser, reimplemented in the `schedule` module below:
//! since v2.19 KSM parses with `github.com/netresearch/go-cron`, which is stricter than the
//! robfig/cron the CronJob controller uses (a step must be smaller than its range, so
//! `*/60 * * * *` is rejected) and matches day-of-month AND day-of-week when both are
//! restricted. What it rejects, KSM reports through `kube_cronjob_schedule_invalid`.
//!
//! Time zones: `spec.timeZone` is resolved through jiff's time zone database. This crate builds
//! jiff without one (no `tz-system`/`tzdb-*` feature), so only UTC, `Local` (KSM's process zone,
//! UTC in its image) and the fixed-offset IANA zones (`Etc/GMT+5`, `Etc/UTC`, …) resolve; for
//! any other name neither family is written, since the name cannot be proven wrong either.

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, bool_value, meta};

impl ObjectFamilies for CronJob {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "cronjob"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn status(j: &CronJob) -> Option<&CronJobStatus> {
    j.status.as_ref()
}

fn parsed_schedule(j: &CronJob) -> Result<schedule::Schedule, schedule::Error> {
    schedule::parse_cronjob(&j.spec.schedule, j.spec.time_zone.as_deref())
}

/// A timestamp KSM treats as set: present and not Go's zero time.
fn set_seconds(t: Option<&Time>) -> Option<i64> {
    let t = t?;
    let zero = t.0.as_second() == schedule::GO_ZERO_TIME && t.0.subsec_nanosecond() == 0;
    (!zero).then(|| t.0.as_second())
}

/// `kube_cronjob_next_schedule_time`: the first activation after the last schedule time, or
/// after creation when the job never ran. Nothing while suspended (an unset `suspend` counts as
/// not suspended), for a schedule that does not parse, or without either timestamp.
fn next_schedule_time(j: &CronJob, s: &mut Samples) {
    if j.spec.suspend.unwrap_or(false) {
        return;
    }
    let Ok(schedule) = parsed_schedule(j) else {
        return;
    };
    let last = status(j).and_then(|st| set_seconds(st.last_schedule_time.as_ref()));
    let Some(after) = last.or_else(|| set_seconds(j.metadata.creation_timestamp.as_ref())) else {
        return;
    };
    if let Some(next) = schedule.next(after) {
        s.value(next as f64);
    }
}

fn optional_time(t: Option<&Time>, s: &mut Samples) {
    if let Some(t) = t {
        s.value(meta::unix_seconds(t));
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<CronJob>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_cronjob";
    vec![
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge("kube_cronjob_info", Stable, "Info about cronjob.", |j, _, s| {
            s.push(
                [
                    ("schedule", j.spec.schedule.as_str()),
                    ("concurrency_policy", j.spec.concurrency_policy.as_deref().unwrap_or("")),
                    ("timezone", j.spec.time_zone.as_deref().unwrap_or("local")),
                ],
                1.0,
            )
        }),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_cronjob_status_active",
            Stable,
            "Active holds pointers to currently running jobs.",
            |j, _, s| s.value(status(j).and_then(|st| st.active.as_ref()).map_or(0, Vec::len) as f64),
        ),
        Def::gauge(
            "kube_cronjob_status_last_schedule_time",
            Stable,
            "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.",
            |j, _, s| optional_time(status(j).and_then(|st| st.last_schedule_time.as_ref()), s),
        ),
        Def::gauge(
            "kube_cronjob_status_last_successful_time",
            Stable,
            "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.",
            |j, _, s| optional_time(status(j).and_then(|st| st.last_successful_time.as_ref()), s),
        ),
        Def::gauge(
            "kube_cronjob_spec_suspend",
            Stable,
            "Suspend flag tells the controller to suspend subsequent executions.",
            |j, _, s| {
                if let Some(suspend) = j.spec.suspend {
                    s.value(bool_value(suspend));
                }
            },
        ),
        Def::gauge(
            "kube_cronjob_spec_starting_deadline_seconds",
            Stable,
            "Deadline in seconds for starting the job if it misses scheduled time for any reason.",
            |j, _, s| {
                if let Some(seconds) = j.spec.starting_deadline_seconds {
                    s.value(seconds as f64);
                }
            },
        ),
        Def::gauge(
            "kube_cronjob_next_schedule_time",
            Stable,
            "Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.",
            |j, _, s| next_schedule_time(j, s),
        ),
        // Written whether or not the CronJob is suspended: the schedule is broken either way.
        Def::gauge(
            "kube_cronjob_schedule_invalid",
            Alpha,
            "Emitted with value 1 for cronjobs whose schedule, in its configured timezone, cannot be parsed.",
            |j, _, s| {
                if matches!(parsed_schedule(j), Err(schedule::Error::Invalid)) {
                    s.value(1.0);
                }
            },
        ),
        Def::metadata_resource_version(
            P,
            Stable,
            "Resource version representing a specific version of the cronjob.",
        ),
        Def::gauge(
            "kube_cronjob_spec_successful_job_history_limit",
            Alpha,
            "Successful job history limit tells the controller how many completed jobs should be preserved.",
            |j, _, s| {
                if let Some(n) = j.spec.successful_jobs_history_limit {
                    s.value(f64::from(n));
                }
            },
        ),
        Def::gauge(
            "kube_cronjob_spec_failed_job_history_limit",
            Alpha,
            "Failed job history limit tells the controller how many failed jobs should be preserved.",
            |j, _, s| {
                if let Some(n) = j.spec.failed_jobs_history_limit {
                    s.value(f64::from(n));
                }
            },
        ),
    ]
}

mod schedule {
    //! KSM's cron semantics: `github.com/netresearch/go-cron`'s `ParseStandard` (which KSM uses
    //! since v2.19) and its `Next`, on Go's `time` rules. Times are whole unix seconds.

    use jiff::Timestamp;
    use jiff::tz::{Offset, TimeZone};

    /// Go's zero `time.Time` as unix seconds: what `Next` returns when nothing matches within
    /// its search window, and what KSM then exports.
    pub(super) const GO_ZERO_TIME: i64 = -62_135_596_800;

    const MAX_SPEC_LEN: usize = 1024;
    const MAX_ZONE_NAME_LEN: usize = 64;
    const SEARCH_YEARS: i64 = 5;
    const STAR: u64 = 1 << 63;

    /// Why a schedule cannot be used.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Error {
        /// go-cron rejects it: KSM reports `kube_cronjob_schedule_invalid`.
        Invalid,
        /// A time zone name this build cannot resolve (no time zone database) and cannot
        /// prove wrong either.
        UnknownZone,
    }

    /// A parsed schedule.
    #[derive(Debug, Clone)]
    pub(super) enum Schedule {
        /// Field bit sets (bit n = value n) and the zone they are read in.
        Spec(Spec),
        /// `@every <duration>`, in whole seconds.
        Every(i64),
        /// `@triggered`, `@manual`, `@none`: never fires.
        Never,
    }

    /// A five-field schedule (seconds are always 0).
    #[derive(Debug, Clone)]
    pub(super) struct Spec {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        zone: TimeZone,
    }

    struct Bounds {
        min: u64,
        max: u64,
        names: &'static [(&'static str, u64)],
    }

    const MINUTES: Bounds = Bounds {
        min: 0,
        max: 59,
        names: &[],
    };
    const HOURS: Bounds = Bounds {
        min: 0,
        max: 23,
        names: &[],
    };
    const DAYS: Bounds = Bounds {
        min: 1,
        max: 31,
        names: &[],
    };
    const MONTHS: Bounds = Bounds {
        min: 1,
        max: 12,
        names: &[
            ("jan", 1),
            ("feb", 2),
            ("mar", 3),
            ("apr", 4),
            ("may", 5),
            ("jun", 6),
            ("jul", 7),
            ("aug", 8),
            ("sep", 9),
            ("oct", 10),
            ("nov", 11),
            ("dec", 12),
        ],
    };
    // 7 is accepted as a second Sunday and folded onto 0 after parsing.
    const WEEKDAYS: Bounds = Bounds {
        min: 0,
        max: 7,
        names: &[
            ("sun", 0),
            ("mon", 1),
            ("tue", 2),
            ("wed", 3),
            ("thu", 4),
            ("fri", 5),
            ("sat", 6),
        ],
    };

    /// Parses a schedule the way KSM does for a CronJob: `CRON_TZ=<timeZone> ` is prefixed
    /// when `spec.timeZone` is set, then the whole string goes to `ParseStandard`.
    pub(super) fn parse_cronjob(schedule: &str, time_zone: Option<&str>) -> Result<Schedule, Error> {
        match time_zone {
            Some(tz) => parse(&format!("CRON_TZ={tz} {schedule}")),
            None => parse(schedule),
        }
    }

    /// `ParseStandard`: five fields or a descriptor, optionally behind `TZ=`/`CRON_TZ=`.
    fn parse(spec: &str) -> Result<Schedule, Error> {
        if spec.is_empty() || spec.len() > MAX_SPEC_LEN {
            return Err(Error::Invalid);
        }
        let (zone, spec) = if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let space = spec.find(' ').ok_or(Error::Invalid)?;
            let eq = spec.find('=').ok_or(Error::Invalid)?;
            let zone = load_location(&spec[eq + 1..space]);
            let rest = spec[space..].trim();
            if rest.is_empty() || matches!(zone, Err(Error::Invalid)) {
                return Err(Error::Invalid);
            }
            (zone, rest)
        } else {
            (Ok(TimeZone::UTC), spec)
        };
        // An unresolvable zone still lets the rest prove the schedule invalid, as go-cron
        // would have rejected it either way.
        let parsed = parse_fields(spec, zone.clone().unwrap_or(TimeZone::UTC))?;
        zone.map(|_| parsed)
    }

    fn parse_fields(spec: &str, zone: TimeZone) -> Result<Schedule, Error> {
        if spec.starts_with('@') {
            return descriptor(spec, zone);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = fields[..] else {
            return Err(Error::Invalid);
        };
        // go-cron treats any `H` as a Jenkins hash expression, which the standard parser does
        // not enable; that includes an upper-case `THU`.
        if fields.iter().any(|f| f.contains('H')) {
            return Err(Error::Invalid);
        }
        // L/W (day of month) and # (day of week) are opt-in extensions go-cron rejects here.
        if dom.to_uppercase().contains(['L', 'W']) || dow.contains('#') {
            return Err(Error::Invalid);
        }
        Ok(Schedule::Spec(Spec {
            minute: field(minute, &MINUTES)?,
            hour: field(hour, &HOURS)?,
            dom: field(dom, &DAYS)?,
            month: field(month, &MONTHS)?,
            dow: fold_sunday(field(dow, &WEEKDAYS)?),
            zone,
        }))
    }

    fn fold_sunday(bits: u64) -> u64 {
        if bits & (1 << 7) != 0 {
            (bits | 1) & !(1 << 7)
        } else {
            bits
        }
    }

    fn descriptor(spec: &str, zone: TimeZone) -> Result<Schedule, Error> {
        let all = |b: &Bounds| bits(b.min, b.max, 1) | STAR;
        let every_dow = fold_sunday(all(&WEEKDAYS));
        let (hour, dom, month, dow) = match spec {
            "@yearly" | "@annually" => (1, 1 << 1, 1 << 1, every_dow),
            "@monthly" => (1, 1 << 1, all(&MONTHS), every_dow),
            "@weekly" => (1, all(&DAYS), all(&MONTHS), 1),
            "@daily" | "@midnight" => (1, all(&DAYS), all(&MONTHS), every_dow),
            "@hourly" => (all(&HOURS), all(&DAYS), all(&MONTHS), every_dow),
            "@triggered" | "@manual" | "@none" => return Ok(Schedule::Never),
            _ => {
                let every = spec.strip_prefix("@every ").ok_or(Error::Invalid)?;
                let nanos = go_duration_nanos(every).ok_or(Error::Invalid)?;
                if nanos < 1_000_000_000 {
                    return Err(Error::Invalid);
                }
                return Ok(Schedule::Every((nanos / 1_000_000_000) as i64));
            }
        };
        Ok(Schedule::Spec(Spec {
            minute: 1,
            hour,
            dom,
            month,
            dow,
            zone,
        }))
    }

    /// A comma-separated list of ranges; empty items are skipped, as Go's `FieldsFunc` does.
    fn field(text: &str, b: &Bounds) -> Result<u64, Error> {
        text.split(',')
            .filter(|r| !r.is_empty())
            .try_fold(0, |acc, r| Ok(acc | range(r, b)?))
    }

    /// `*`, `?`, `n`, `a-b` (wrapping past the maximum when `a > b`), each with `/step`.
    fn range(expr: &str, b: &Bounds) -> Result<u64, Error> {
        let mut range_and_step = expr.split('/');
        let range = range_and_step.next().unwrap_or("");
        let step = range_and_step.next();
        if range_and_step.next().is_some() {
            return Err(Error::Invalid);
        }
        let ends: Vec<&str> = range.split('-').collect();
        let (start, mut end, mut extra) = if ends[0] == "*" || ends[0] == "?" {
            // Anything after `*-` is ignored by go-cron.
            (b.min, b.max, STAR)
        } else {
            let start = int_or_name(ends[0], b)?;
            match ends[..] {
                [_] => (start, start, 0),
                [_, end] => (start, int_or_name(end, b)?, 0),
                _ => return Err(Error::Invalid),
            }
        };
        let step = match step {
            None => 1,
            Some(s) => {
                let step = go_uint(s)?;
                if ends.len() == 1 {
                    end = b.max;
                }
                if step > 1 {
                    extra = 0;
                }
                step
            }
        };
        if start < b.min || end > b.max || step == 0 {
            return Err(Error::Invalid);
        }
        let wraps = start > end;
        // Go's unsigned arithmetic: a start beyond the maximum wraps the size around and then
        // selects nothing, which go-cron accepts.
        let size = if wraps {
            (b.max.wrapping_sub(start).wrapping_add(1)).wrapping_add(end.wrapping_sub(b.min).wrapping_add(1))
        } else {
            end - start + 1
        };
        if step > 1 && step >= size {
            return Err(Error::Invalid);
        }
        if !wraps {
            return Ok(bits(start, end, step) | extra);
        }
        let span = b.max - b.min + 1;
        let mut out = 0;
        let mut v = start;
        while v <= end + span {
            let folded = if v > b.max { (v - b.min) % span + b.min } else { v };
            out |= 1 << folded;
            v += step;
        }
        Ok(out | extra)
    }

    fn bits(low: u64, high: u64, step: u64) -> u64 {
        (low..=high).step_by(step as usize).fold(0, |acc, v| acc | 1 << v)
    }

    fn int_or_name(text: &str, b: &Bounds) -> Result<u64, Error> {
        let lower = text.to_lowercase();
        match b.names.iter().find(|(name, _)| *name == lower) {
            Some(&(_, value)) => Ok(value),
            None => go_uint(text),
        }
    }

    /// Go's `strconv.Atoi` (optional sign, decimal digits) refused below zero.
    fn go_uint(text: &str) -> Result<u64, Error> {
        let n: i64 = text.parse().map_err(|_| Error::Invalid)?;
        u64::try_from(n).map_err(|_| Error::Invalid)
    }

    /// Go's `time.ParseDuration`, in nanoseconds; `None` where Go returns an error.
    fn go_duration_nanos(text: &str) -> Option<i128> {
        const LIMIT: u128 = 1 << 63;
        let (neg, mut s) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if s == "0" {
            return Some(0);
        }
        if s.is_empty() {
            return None;
        }
        let mut total: u128 = 0;
        while !s.is_empty() {
            let first = s.as_bytes()[0];
            if !(first == b'.' || first.is_ascii_digit()) {
                return None;
            }
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut value: u128 = 0;
            for c in s[..digits].bytes() {
                if value > LIMIT / 10 {
                    return None;
                }
                value = value * 10 + u128::from(c - b'0');
                if value > LIMIT {
                    return None;
                }
            }
            s = &s[digits..];
            let mut fraction: u128 = 0;
            let mut scale: f64 = 1.0;
            let mut fraction_digits = 0;
            if let Some(rest) = s.strip_prefix('.') {
                fraction_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let mut overflow = false;
                for c in rest[..fraction_digits].bytes() {
                    if overflow {
                        continue;
                    }
                    if fraction > (LIMIT - 1) / 10 {
                        overflow = true;
                        continue;
                    }
                    let next = fraction * 10 + u128::from(c - b'0');
                    if next > LIMIT {
                        overflow = true;
                        continue;
                    }
                    fraction = next;
                    scale *= 10.0;
                }
                s = &rest[fraction_digits..];
            }
            if digits == 0 && fraction_digits == 0 {
                return None;
            }
            let unit_len = s.bytes().take_while(|c| *c != b'.' && !c.is_ascii_digit()).count();
            let unit: u128 = match &s[..unit_len] {
                "ns" => 1,
                "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => return None,
            };
            s = &s[unit_len..];
            if value > LIMIT / unit {
                return None;
            }
            value *= unit;
            if fraction > 0 {
                value += (fraction as f64 * (unit as f64 / scale)) as u128;
                if value > LIMIT {
                    return None;
                }
            }
            total += value;
            if total > LIMIT {
                return None;
            }
        }
        if neg {
            return Some(-(total as i128));
        }
        if total > LIMIT - 1 {
            return None;
        }
        Some(total as i128)
    }

    /// Go's `time.LoadLocation` behind go-cron's name check. `UTC` and `Local` (the exporter's
    /// process zone, UTC as in KSM's image) need no database; other names come from jiff's
    /// database when the build has one, else from the fixed-offset zones listed here.
    fn load_location(name: &str) -> Result<TimeZone, Error> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/_-+:".contains(c);
        if name.is_empty() || name.len() > MAX_ZONE_NAME_LEN || !name.chars().all(allowed) {
            return Err(Error::Invalid);
        }
        if name == "UTC" || name == "Local" {
            return Ok(TimeZone::UTC);
        }
        if name.starts_with('/') {
            return Err(Error::Invalid);
        }
        if let Ok(tz) = TimeZone::get(name) {
            return Ok(tz);
        }
        if let Some(hours) = fixed_zone_hours(name) {
            let offset = Offset::from_hours(hours).map_err(|_| Error::Invalid)?;
            return Ok(TimeZone::fixed(offset));
        }
        if jiff::tz::db().is_definitively_empty() {
            Err(Error::UnknownZone)
        } else {
            Err(Error::Invalid)
        }
    }

    /// IANA zones that are a constant offset from UTC, in hours east (`Etc/GMT+5` is UTC-5).
    fn fixed_zone_hours(name: &str) -> Option<i8> {
        const ZERO: &[&str] = &[
            "Etc/UTC",
            "Etc/UCT",
            "UCT",
            "Etc/Universal",
            "Universal",
            "Etc/Zulu",
            "Zulu",
            "Etc/GMT",
            "GMT",
            "Etc/GMT0",
            "GMT0",
            "Etc/GMT+0",
            "GMT+0",
            "Etc/GMT-0",
            "GMT-0",
            "Etc/Greenwich",
            "Greenwich",
        ];
        if ZERO.contains(&name) {
            return Some(0);
        }
        let rest = name.strip_prefix("Etc/GMT")?;
        let (sign, digits) = (rest.get(..1)?, rest.get(1..)?);
        if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let hours: i8 = digits.parse().ok()?;
        match sign {
            "+" if hours <= 12 => Some(-hours),
            "-" if hours <= 14 => Some(hours),
            _ => None,
        }
    }

    impl Schedule {
        /// The first activation strictly after `after` (unix seconds), as go-cron computes
        /// it: [`GO_ZERO_TIME`] when none is found. `None` only for instants outside the range
        /// time zones can be evaluated in.
        pub(super) fn next(&self, after: i64) -> Option<i64> {
            match self {
                Schedule::Spec(spec) => spec.next(after),
                Schedule::Every(seconds) => after.checked_add(*seconds),
                Schedule::Never => Some(GO_ZERO_TIME),
            }
        }
    }

    impl Spec {
        fn next(&self, after: i64) -> Option<i64> {
            let values = !STAR;
            if [self.minute, self.hour, self.dom, self.month, self.dow]
                .iter()
                .any(|b| b & values == 0)
            {
                // go-cron would step through five years before giving up.
                return Some(GO_ZERO_TIME);
            }
            let z = &self.zone;
            // Safety net only: the walk below ends by itself within its five-year window.
            let mut budget = 100_000u32;
            let matches = |bits: u64, v: i64| bits & (1 << v) != 0;
            let mut t = after.checked_add(1)?;
            let mut added = false;
            let year_limit = civil(t, z)?.year + SEARCH_YEARS;
            'wrap: loop {
                budget = budget.checked_sub(1)?;
                let mut c = civil(t, z)?;
                if c.year > year_limit {
                    return Some(GO_ZERO_TIME);
                }
                while !matches(self.month, c.month) {
                    if !added {
                        added = true;
                        t = go_date(c.year, c.month, 1, 0, 0, 0, z)?;
                        c = civil(t, z)?;
                    }
                    t = go_date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second, z)?;
                    c = civil(t, z)?;
                    if c.month == 1 {
                        continue 'wrap;
                    }
                }
                while !(matches(self.dom, c.day) && matches(self.dow, c.weekday)) {
                    if !added {
                        added = true;
                        t = go_date(c.year, c.month, c.day, 0, 0, 0, z)?;
                        c = civil(t, z)?;
                    }
                    t = go_date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second, z)?;
                    c = civil(t, z)?;
                    // A day whose midnight a DST change skipped starts at another hour.
                    if c.hour != 0 {
                        t += if c.hour > 12 {
                            (24 - c.hour) * 3600
                        } else {
                            -c.hour * 3600
                        };
                        c = civil(t, z)?;
                    }
                    if c.day == 1 {
                        continue 'wrap;
                    }
                }
                while !matches(self.hour, c.hour) {
                    if !added {
                        added = true;
                        t = go_date(c.year, c.month, c.day, c.hour, 0, 0, z)?;
                        c = civil(t, z)?;
                    }
                    let before = c.hour;
                    t += 3600;
                    c = civil(t, z)?;
                    // Spring forward skipped the wanted hour: run at the hour after, as ISC cron.
                    if c.hour - before == 2 && matches(self.hour, c.hour - 1) {
                        break;
                    }
                    if c.hour == 0 {
                        continue 'wrap;
                    }
                }
                while !matches(self.minute, c.minute) {
                    if !added {
                        added = true;
                        t -= t.rem_euclid(60);
                    }
                    t += 60;
                    c = civil(t, z)?;
                    if c.minute == 0 {
                        continue 'wrap;
                    }
                }
                // Seconds must be 0; go-cron does not keep `added` from this step.
                while c.second != 0 {
                    t += 1;
                    c = civil(t, z)?;
                    if c.second == 0 {
                        continue 'wrap;
                    }
                }
                return Some(t);
            }
        }
    }

    struct Civil {
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
        weekday: i64,
    }

    fn offset(unix: i64, z: &TimeZone) -> Option<i64> {
        Some(i64::from(z.to_offset(Timestamp::from_second(unix).ok()?).seconds()))
    }

    fn civil(unix: i64, z: &TimeZone) -> Option<Civil> {
        let local = unix + offset(unix, z)?;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Some(Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7),
        })
    }

    /// Go's `time.Date`: out-of-range fields carry over, and a wall time a zone change skips
    /// or repeats resolves the way Go does.
    fn go_date(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64, z: &TimeZone) -> Option<i64> {
        let year = year + (month - 1).div_euclid(12);
        let month = (month - 1).rem_euclid(12) + 1;
        let wall = (days_from_civil(year, month, 1) + day - 1) * 86_400 + hour * 3600 + minute * 60 + second;
        let guess = offset(wall, z)?;
        Some(wall - offset(wall - guess, z)?)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn civil_from_days(days: i64) -> (i64, i64, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn utc(spec: &str) -> Schedule {
            parse(spec).unwrap_or_else(|e| panic!("{spec:?} should parse: {e:?}"))
        }

        fn next(spec: &str, after: i64) -> i64 {
            utc(spec).next(after).expect("in range")
        }

        fn in_zone(spec: &str, posix: &str, after: i64) -> i64 {
            let zone = TimeZone::posix(posix).expect("valid POSIX zone");
            parse_fields(spec, zone).expect("parses").next(after).expect("in range")
        }

        /// 2018-03-11T04:34:56Z, the last schedule time of KSM's own cron tests.
        const KSM_LAST: i64 = 1_520_742_896;

        #[test]
        fn ksm_test_vectors() {
            // `0 */6 * * *` after 04:34:56Z: 06:00 UTC, and 10:00 UTC (18:00) in Asia/Shanghai.
            assert_eq!(next("0 */6 * * *", KSM_LAST), KSM_LAST + 3600 + 25 * 60 + 4);
            assert_eq!(next("CRON_TZ=UTC 0 */6 * * *", KSM_LAST), KSM_LAST + 3600 + 25 * 60 + 4);
            assert_eq!(
                in_zone("0 */6 * * *", "CST-8", KSM_LAST),
                KSM_LAST + 5 * 3600 + 25 * 60 + 4
            );
            assert_eq!(
                next("CRON_TZ=Etc/GMT-8 0 */6 * * *", KSM_LAST),
                KSM_LAST + 5 * 3600 + 25 * 60 + 4
            );
            // Created 2018-03-11T11:04:56Z, never scheduled: 11:25.
            assert_eq!(next("25 * * * *", 1_520_766_296), 1_520_767_500);
            // KSM's unparseable schedules: a step as large as its range.
            for spec in ["*/120 4-22 * * *", "0 1 */32,1-7 * 3", "*/60 * * * *"] {
                assert_eq!(parse(spec).unwrap_err(), Error::Invalid, "{spec}");
            }
        }

        #[test]
        fn steps_must_be_smaller_than_their_range() {
            assert!(parse("*/59 * * * *").is_ok());
            assert!(parse("5/30 * * * *").is_ok());
            assert_eq!(parse("5/55 * * * *").unwrap_err(), Error::Invalid);
            assert_eq!(parse("0 0 * * */8").unwrap_err(), Error::Invalid);
            assert_eq!(parse("0/0 * * * *").unwrap_err(), Error::Invalid);
            // A step of 1 never counts against the range.
            assert!(parse("5-5/1 * * * *").is_ok());
        }

        #[test]
        fn field_syntax() {
            // 2023-11-14T22:13:20Z, a Tuesday.
            let t = 1_700_000_000;
            assert_eq!(next("*/15 * * * *", t), 1_700_000_100);
            assert_eq!(next("0 9-17/4 * * *", t), 1_700_038_800); // Wed 09:00
            assert_eq!(next("0 0 * * sun", t), 1_700_352_000); // Sun 19th
            assert_eq!(next("0 0 * * 7", t), 1_700_352_000); // 7 is Sunday too
            assert_eq!(next("0 0 * * */7", t), 1_700_352_000); // {0,7}
            assert_eq!(next("0 0 * * Fri-Mon", t), 1_700_179_200); // wraps: Fri 17th
            assert_eq!(next("0 0 31-2 * *", t), 1_701_388_800); // wraps: Dec 1st
            assert_eq!(next("0 0 1 NOV-feb ?", t), 1_701_388_800);
            assert_eq!(next("0 0 29 2 *", t), 1_709_164_800); // 2024-02-29
            assert_eq!(next("+5,,07 * * * *", t), 1_700_003_100); // 23:05; empty items skipped
            assert_eq!(next("*-5 * * * *", t), 1_700_000_040); // anything after `*-` is ignored
            assert_eq!(next("70-5 * * * *", t), GO_ZERO_TIME); // wraps from past the maximum: empty
            assert_eq!(next("0 0 5-0 * *", t), 1_700_006_400); // 5..31 (0 is below the minimum)
            for spec in [
                "-5 * * * *",
                "60 * * * *",
                "0 24 * * *",
                "0 0 0 * *",
                "0 0 * 13 *",
                "0 0 * * 8",
                "1-2-3 * * * *",
                "1/2/3 * * * *",
                "5/ * * * *",
                "x * * * *",
                "0 0 * * * *",
                "0 0 * *",
                "",
            ] {
                assert_eq!(parse(spec).unwrap_err(), Error::Invalid, "{spec:?}");
            }
        }

        #[test]
        fn go_cron_extensions_and_quirks_are_rejected() {
            // `H` means a Jenkins hash to go-cron, even inside `THU`; `Thu` is fine.
            assert_eq!(parse("0 0 * * THU").unwrap_err(), Error::Invalid);
            assert_eq!(next("0 0 * * Thu", 0), 7 * 86_400);
            for spec in [
                "H * * * *",
                "0 0 L * *",
                "0 0 15W * *",
                "0 0 * * FRI#3",
                "0 0 1 1 * 2030",
            ] {
                assert_eq!(parse(spec).unwrap_err(), Error::Invalid, "{spec}");
            }
        }

        #[test]
        fn day_of_month_and_day_of_week_must_both_match() {
            // Friday the 13th after 2026-01-01: February.
            assert_eq!(next("0 0 13 * 5", 1_767_225_600), 1_770_940_800);
        }

        #[test]
        fn unsatisfiable_schedules_give_go_zero_time() {
            assert_eq!(next("0 0 30 2 *", 1_700_000_000), GO_ZERO_TIME);
            assert_eq!(next(", * * * *", 1_700_000_000), GO_ZERO_TIME);
            assert_eq!(next("@triggered", 1_700_000_000), GO_ZERO_TIME);
            assert_eq!(next("@none", 1_700_000_000), GO_ZERO_TIME);
        }

        #[test]
        fn descriptors() {
            let t = 1_700_000_000; // Tuesday 2023-11-14T22:13:20Z
            assert_eq!(next("@hourly", t), 1_700_002_800);
            assert_eq!(next("@daily", t), 1_700_006_400);
            assert_eq!(next("@midnight", t), 1_700_006_400);
            assert_eq!(next("@weekly", t), 1_700_352_000);
            assert_eq!(next("@monthly", t), 1_701_388_800);
            assert_eq!(next("@yearly", t), 1_704_067_200);
            assert_eq!(next("@annually", t), 1_704_067_200);
            assert_eq!(next("CRON_TZ=Etc/GMT+5 @daily", t), 1_700_024_400);
            for spec in ["@Daily", "@daily ", " @daily", "@fortnightly"] {
                assert_eq!(parse(spec).unwrap_err(), Error::Invalid, "{spec:?}");
            }
        }

        #[test]
        fn every_takes_go_durations_truncated_to_seconds() {
            for (spec, seconds) in [
                ("@every 1h30m", 5400),
                ("@every 1.5h", 5400),
                ("@every 90s", 90),
                ("@every 2m30.9s", 150),
                ("@every 3000ms", 3),
                ("@every +1s", 1),
            ] {
                assert_eq!(next(spec, 1_000), 1_000 + seconds, "{spec}");
            }
            for spec in [
                "@every 500ms",
                "@every 0",
                "@every -1h",
                "@every 1",
                "@every 1h ",
                "@every 1d",
                "@every .",
                "@every 9999999999h",
                "@every ",
            ] {
                assert_eq!(parse(spec).unwrap_err(), Error::Invalid, "{spec:?}");
            }
        }

        #[test]
        fn time_zone_prefixes() {
            assert_eq!(next("TZ=UTC 0 0 * * *", 0), 86_400);
            assert_eq!(next("CRON_TZ=Local 0 0 * * *", 0), 86_400);
            assert_eq!(next("CRON_TZ=Etc/GMT-14 0 0 * * *", 0), 36_000);
            assert_eq!(next("CRON_TZ=Etc/GMT+12 0 0 * * *", 0), 43_200);
            for spec in [
                "CRON_TZ=UTC",
                "CRON_TZ= 0 0 * * *",
                "CRON_TZ=/etc/localtime 0 0 * * *",
                "CRON_TZ=Europe/Berlin;x 0 0 * * *",
                "CRON_TZ=UTC CRON_TZ=UTC 0 0 * * *",
                // Whatever the zone, the rest has six fields.
                "CRON_TZ=America/New York 0 0 * * *",
            ] {
                assert_eq!(parse(spec).unwrap_err(), Error::Invalid, "{spec:?}");
            }
            let long = format!("CRON_TZ={} 0 0 * * *", "A".repeat(65));
            assert_eq!(parse(&long).unwrap_err(), Error::Invalid);
            let oversized = format!("0 0 * * {}", "1,".repeat(600));
            assert_eq!(parse(&oversized).unwrap_err(), Error::Invalid);
        }

        #[test]
        fn zone_names_need_a_database_or_a_fixed_offset() {
            let unresolved = if jiff::tz::db().is_definitively_empty() {
                Error::UnknownZone
            } else {
                Error::Invalid
            };
            assert_eq!(parse("CRON_TZ=Invalid/Zone 0 */6 * * *").unwrap_err(), unresolved);
            assert_eq!(parse("CRON_TZ=Etc/GMT+13 0 0 * * *").unwrap_err(), unresolved);
            assert_eq!(parse("CRON_TZ=Etc/GMT-05 0 0 * * *").unwrap_err(), unresolved);
        }

        #[test]
        fn daylight_saving_follows_go_cron() {
            const NEW_YORK: &str = "EST5EDT,M3.2.0,M11.1.0";
            const BERLIN: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
            // 02:30 does not exist on 2024-03-10: the job runs at 03:30 EDT, as ISC cron does.
            assert_eq!(in_zone("30 2 * * *", NEW_YORK, 1_709_969_400), 1_710_055_800);
            assert_eq!(in_zone("0 3 * * *", NEW_YORK, 1_709_971_200), 1_710_054_000);
            // 01:30 happens twice on 2024-11-03: after the EDT one comes the EST one.
            assert_eq!(in_zone("30 1 * * *", NEW_YORK, 1_730_611_860), 1_730_615_400);
            assert_eq!(in_zone("30 2 * * *", BERLIN, 1_711_762_200), 1_711_848_600);
            // Winter time: 02:30 CET is 01:30Z.
            assert_eq!(in_zone("30 2 * * *", BERLIN, 1_795_397_400), 1_795_483_800);
        }

        #[test]
        fn civil_dates_round_trip() {
            for days in [-719_468, -1, 0, 59, 365, 11_016, 20_454, 2_932_896] {
                let (y, m, d) = civil_from_days(days);
                assert_eq!(days_from_civil(y, m, d), days);
            }
            assert_eq!(civil_from_days(0), (1970, 1, 1));
            assert_eq!(civil_from_days(19_782), (2024, 2, 29));
            assert_eq!(GO_ZERO_TIME, days_from_civil(1, 1, 1) * 86_400);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// A CronJob as a v1.36 API server returns it (managedFields dropped), in a zone every
    /// build resolves.
    fn backup() -> serde_json::Value {
        json!({
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": {
                "name": "nightly-backup",
                "namespace": "batch",
                "uid": "b2a93a3b-88e5-41b9-b0ed-e8dcf5cd3381",
                "resourceVersion": "302",
                "generation": 1,
                "creationTimestamp": "2026-11-24T05:09:01Z",
                "labels": {"app": "backup"},
                "annotations": {"example.com/team": "storage"}
            },
            "spec": {
                "schedule": "30 2 * * *",
                "timeZone": "Etc/UTC",
                "startingDeadlineSeconds": 300,
                "concurrencyPolicy": "Forbid",
                "suspend": false,
                "jobTemplate": {
                    "metadata": {},
                    "spec": {
                        "backoffLimit": 2,
                        "template": {
                            "metadata": {"labels": {"app": "backup"}},
                            "spec": {
                                "containers": [{"name": "main", "image": "busybox:1.37", "command": ["sh", "-c", "true"]}],
                                "restartPolicy": "OnFailure"
                            }
                        }
                    }
                },
                "successfulJobsHistoryLimit": 5,
                "failedJobsHistoryLimit": 2
            },
            "status": {
                "active": [{"kind": "Job", "namespace": "batch", "name": "nightly-backup-29391450",
                            "uid": "86cdc2c3-d09f-4382-9ef6-4d5503155421", "apiVersion": "batch/v1"}],
                "lastScheduleTime": "2026-11-23T02:30:00Z",
                "lastSuccessfulTime": "2026-11-23T02:42:17Z"
            }
        })
    }

    fn cronjob(v: serde_json::Value) -> CronJob {
        serde_json::from_value(v).expect("valid CronJob")
    }

    fn render(j: &CronJob, family: &str) -> String {
        render_text(j, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"batch\",cronjob=\"nightly-backup\"";

    fn line(family: &str, value: &str) -> String {
        format!("{family}{{{BASE}}} {value}\n")
    }

    #[test]
    fn info_carries_schedule_policy_and_zone() {
        let j = cronjob(backup());
        assert_eq!(
            render(&j, "kube_cronjob_info"),
            format!(
                "kube_cronjob_info{{{BASE},schedule=\"30 2 * * *\",concurrency_policy=\"Forbid\",timezone=\"Etc/UTC\"}} 1\n"
            )
        );
        let mut v = backup();
        v["spec"].as_object_mut().unwrap().remove("timeZone");
        v["spec"].as_object_mut().unwrap().remove("concurrencyPolicy");
        assert_eq!(
            render(&cronjob(v), "kube_cronjob_info"),
            format!(
                "kube_cronjob_info{{{BASE},schedule=\"30 2 * * *\",concurrency_policy=\"\",timezone=\"local\"}} 1\n"
            )
        );
    }

    #[test]
    fn status_and_spec_values() {
        let j = cronjob(backup());
        for (family, value) in [
            ("kube_cronjob_created", "1.795496941e+09"),
            ("kube_cronjob_status_active", "1"),
            ("kube_cronjob_status_last_schedule_time", "1.795401e+09"),
            ("kube_cronjob_status_last_successful_time", "1.795401737e+09"),
            ("kube_cronjob_spec_suspend", "0"),
            ("kube_cronjob_spec_starting_deadline_seconds", "300"),
            ("kube_cronjob_metadata_resource_version", "302"),
            ("kube_cronjob_spec_successful_job_history_limit", "5"),
            ("kube_cronjob_spec_failed_job_history_limit", "2"),
        ] {
            assert_eq!(render(&j, family), line(family, value));
        }
    }

    #[test]
    fn unset_fields_write_nothing_and_no_active_jobs_is_zero() {
        let mut v = backup();
        v.as_object_mut().unwrap().remove("status");
        for field in [
            "suspend",
            "startingDeadlineSeconds",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        ] {
            v["spec"].as_object_mut().unwrap().remove(field);
        }
        let j = cronjob(v);
        assert_eq!(
            render(&j, "kube_cronjob_status_active"),
            line("kube_cronjob_status_active", "0")
        );
        for family in [
            "kube_cronjob_status_last_schedule_time",
            "kube_cronjob_status_last_successful_time",
            "kube_cronjob_spec_suspend",
            "kube_cronjob_spec_starting_deadline_seconds",
            "kube_cronjob_spec_successful_job_history_limit",
            "kube_cronjob_spec_failed_job_history_limit",
        ] {
            assert_eq!(render(&j, family), "", "{family}");
        }
    }

    #[test]
    fn next_schedule_follows_the_last_schedule_time() {
        // 02:30Z on the 23rd was the last run: the next is 02:30Z on the 24th.
        let j = cronjob(backup());
        assert_eq!(
            render(&j, "kube_cronjob_next_schedule_time"),
            line("kube_cronjob_next_schedule_time", "1.7954874e+09")
        );
        assert_eq!(render(&j, "kube_cronjob_schedule_invalid"), "");
        // KSM's own case: `0 */6 * * *` in local time (UTC here) after 2018-03-11T04:34:56Z.
        let mut v = backup();
        v["spec"]["schedule"] = json!("0 */6 * * *");
        v["spec"].as_object_mut().unwrap().remove("timeZone");
        v["status"]["lastScheduleTime"] = json!("2018-03-11T04:34:56Z");
        assert_eq!(
            render(&cronjob(v), "kube_cronjob_next_schedule_time"),
            line("kube_cronjob_next_schedule_time", "1.520748e+09")
        );
    }

    #[test]
    fn next_schedule_falls_back_to_creation_and_honours_suspend() {
        let mut v = backup();
        v["status"] = json!({});
        // Created 05:09:01Z on the 24th: next 02:30Z on the 25th.
        assert_eq!(
            render(&cronjob(v.clone()), "kube_cronjob_next_schedule_time"),
            line("kube_cronjob_next_schedule_time", "1.7955738e+09")
        );
        // An unset `suspend` is not suspended.
        v["spec"].as_object_mut().unwrap().remove("suspend");
        assert_eq!(
            render(&cronjob(v.clone()), "kube_cronjob_next_schedule_time"),
            line("kube_cronjob_next_schedule_time", "1.7955738e+09")
        );
        v["spec"]["suspend"] = json!(true);
        let j = cronjob(v.clone());
        assert_eq!(render(&j, "kube_cronjob_next_schedule_time"), "");
        assert_eq!(
            render(&j, "kube_cronjob_spec_suspend"),
            line("kube_cronjob_spec_suspend", "1")
        );
        // Neither timestamp: nothing to count from.
        v["spec"]["suspend"] = json!(false);
        v["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
        assert_eq!(render(&cronjob(v), "kube_cronjob_next_schedule_time"), "");
    }

    #[test]
    fn fixed_offset_zones_shift_the_schedule() {
        // 02:30 at UTC+1 (Berlin's winter offset) is 01:30Z.
        let mut v = backup();
        v["spec"]["timeZone"] = json!("Etc/GMT-1");
        assert_eq!(
            render(&cronjob(v), "kube_cronjob_next_schedule_time"),
            line("kube_cronjob_next_schedule_time", "1.7954838e+09")
        );
    }

    #[test]
    fn named_zones_need_the_time_zone_database() {
        let mut v = backup();
        v["spec"]["timeZone"] = json!("Europe/Berlin");
        let j = cronjob(v);
        if jiff::tz::db().is_definitively_empty() {
            assert_eq!(render(&j, "kube_cronjob_next_schedule_time"), "");
        } else {
            assert_eq!(
                render(&j, "kube_cronjob_next_schedule_time"),
                line("kube_cronjob_next_schedule_time", "1.7954838e+09")
            );
        }
        assert_eq!(render(&j, "kube_cronjob_schedule_invalid"), "");
    }

    #[test]
    fn invalid_schedules_are_flagged_instead_of_scheduled() {
        for (schedule, zone) in [
            ("*/60 * * * *", None),
            ("*/120 4-22 * * *", None),
            ("0 1 */32,1-7 * 3", None),
            ("0 0 * * THU", None),
            ("0 */6 * * *", Some("")),
            ("0 */6 * * *", Some("/etc/localtime")),
        ] {
            let mut v = backup();
            v["spec"]["schedule"] = json!(schedule);
            match zone {
                Some(z) => v["spec"]["timeZone"] = json!(z),
                None => drop(v["spec"].as_object_mut().unwrap().remove("timeZone")),
            }
            let j = cronjob(v);
            assert_eq!(render(&j, "kube_cronjob_next_schedule_time"), "", "{schedule} {zone:?}");
            assert_eq!(
                render(&j, "kube_cronjob_schedule_invalid"),
                line("kube_cronjob_schedule_invalid", "1"),
                "{schedule} {zone:?}"
            );
        }
        // Suspending a CronJob does not repair its schedule.
        let mut v = backup();
        v["spec"]["schedule"] = json!("*/60 * * * *");
        v["spec"]["suspend"] = json!(true);
        assert_eq!(
            render(&cronjob(v), "kube_cronjob_schedule_invalid"),
            line("kube_cronjob_schedule_invalid", "1")
        );
    }

    #[test]
    fn schedules_that_never_fire_report_go_zero_time() {
        let mut v = backup();
        v["spec"]["schedule"] = json!("0 0 30 2 *");
        assert_eq!(
            render(&cronjob(v), "kube_cronjob_next_schedule_time"),
            line("kube_cronjob_next_schedule_time", "-6.21355968e+10")
        );
    }

    #[test]
    fn resource_version_that_is_not_a_number_is_skipped() {
        let mut v = backup();
        v["metadata"]["resourceVersion"] = json!("abc");
        assert_eq!(render(&cronjob(v), "kube_cronjob_metadata_resource_version"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let j = cronjob(backup());
        assert_eq!(render(&j, "kube_cronjob_labels"), "");
        assert_eq!(render(&j, "kube_cronjob_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&j, &ctx, "kube_cronjob_labels"),
            format!("kube_cronjob_labels{{{BASE},label_app=\"backup\"}} 1\n")
        );
        assert_eq!(
            render_text(&j, &ctx, "kube_cronjob_annotations"),
            format!("kube_cronjob_annotations{{{BASE},annotation_example_com_team=\"storage\"}} 1\n")
        );
    }
}
