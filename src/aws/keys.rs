//! S3 key layouts of the data tighten reads: VPC flow logs (default and Hive-style, optional hour
//! partition) and AWS Config deliveries, under any prefix before `AWSLogs/`. Pure functions: the
//! listing uses them to prune by date before downloading anything.

use super::AwsError;

/// What an object under `AWSLogs/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    FlowLog,
    ConfigSnapshot,
    ConfigHistory,
}

/// What a key says about its object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub kind: KeyKind,
    pub account: String,
    pub region: String,
    /// Days since 1970-01-01 (UTC) of the key's date partition.
    pub day: i64,
    /// Hour partition (0–23), when the layout has one.
    pub hour: Option<u8>,
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParse {
    /// A documented layout.
    Known(KeyInfo),
    /// Something AWS puts next to the data that is never data: AWS Config's
    /// `ConfigWritabilityCheckFile`, a folder marker (`…/`).
    Skip,
    /// Not a documented layout (a user's own copy, say): kept, but no date to prune by.
    Other,
}

/// Splits `s3://bucket/prefix` into bucket and prefix (possibly empty).
pub fn parse_s3_url(url: &str) -> Result<(String, String), AwsError> {
    let bad = || AwsError::BadUrl {
        url: url.to_owned(),
    };
    let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !valid_bucket {
        return Err(bad());
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// Classifies a key by its layout.
pub fn parse_key(key: &str) -> KeyParse {
    if key.ends_with('/') || key.ends_with("ConfigWritabilityCheckFile") {
        return KeyParse::Skip;
    }
    let parts: Vec<&str> = key.split('/').collect();
    // The last `AWSLogs` segment: organisation prefixes before it are allowed (and may
    // themselves contain anything).
    let Some(start) = parts.iter().rposition(|p| *p == "AWSLogs") else {
        return KeyParse::Other;
    };
    let rest = &parts[start + 1..];
    parse_default_flow_log(rest)
        .or_else(|| parse_hive_flow_log(rest))
        .or_else(|| parse_config(rest))
        .map_or(KeyParse::Other, KeyParse::Known)
}

/// `{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/[{HH}/]{file}`
fn parse_default_flow_log(rest: &[&str]) -> Option<KeyInfo> {
    let [account, "vpcflowlogs", region, year, month, day, tail @ ..] = rest else {
        return None;
    };
    let hour = match tail {
        [_file] => None,
        [hour, _file] => Some(parse_hour(hour)?),
        _ => return None,
    };
    Some(KeyInfo {
        kind: KeyKind::FlowLog,
        account: account_id(account)?,
        region: region_name(region)?,
        day: date(year, month, day)?,
        hour,
    })
}

/// `aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…/[hour=…/]{file}`
fn parse_hive_flow_log(rest: &[&str]) -> Option<KeyInfo> {
    let [
        account,
        "aws-service=vpcflowlogs",
        region,
        year,
        month,
        day,
        tail @ ..,
    ] = rest
    else {
        return None;
    };
    let hour = match tail {
        [_file] => None,
        [hour, _file] => Some(parse_hour(hour.strip_prefix("hour=")?)?),
        _ => return None,
    };
    Some(KeyInfo {
        kind: KeyKind::FlowLog,
        account: account_id(account.strip_prefix("aws-account-id=")?)?,
        region: region_name(region.strip_prefix("aws-region=")?)?,
        day: date(
            year.strip_prefix("year=")?,
            month.strip_prefix("month=")?,
            day.strip_prefix("day=")?,
        )?,
        hour,
    })
}

/// `{account}/Config/{region}/{yyyy}/{m}/{d}/ConfigSnapshot|ConfigHistory/{file}`
fn parse_config(rest: &[&str]) -> Option<KeyInfo> {
    let [account, "Config", region, year, month, day, folder, _file] = rest else {
        return None;
    };
    let kind = match *folder {
        "ConfigSnapshot" => KeyKind::ConfigSnapshot,
        "ConfigHistory" => KeyKind::ConfigHistory,
        _ => return None,
    };
    Some(KeyInfo {
        kind,
        account: account_id(account)?,
        region: region_name(region)?,
        day: date(year, month, day)?,
        hour: None,
    })
}

fn account_id(text: &str) -> Option<String> {
    (text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.to_owned())
}

fn region_name(text: &str) -> Option<String> {
    let plausible = !text.is_empty()
        && text.contains('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plausible.then(|| text.to_owned())
}

fn parse_hour(text: &str) -> Option<u8> {
    let hour: u8 = number(text, 2)?.try_into().ok()?;
    (hour < 24).then_some(hour)
}

/// A decimal of one to `max_digits` digits (zero-padded or not).
fn number(text: &str, max_digits: usize) -> Option<u32> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn date(year: &str, month: &str, day: &str) -> Option<i64> {
    if year.len() != 4 {
        return None;
    }
    days_from_civil(
        i64::from(number(year, 4)?),
        number(month, 2)?,
        number(day, 2)?,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` for an impossible date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    // Howard Hinnant's algorithm: years start in March so that the leap day comes last.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The (year, month, day) of a day number; the inverse of [`days_from_civil`].
#[cfg(test)]
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d).unwrap()
    }

    fn known(kind: KeyKind, region: &str, day: i64, hour: Option<u8>) -> KeyParse {
        KeyParse::Known(KeyInfo {
            kind,
            account: "123456789012".to_owned(),
            region: region.to_owned(),
            day,
            hour,
        })
    }

    #[test]
    fn default_flow_log_layout() {
        assert_eq!(
            parse_key(
                "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20240307T1620Z_fe123456.log.gz"
            ),
            known(KeyKind::FlowLog, "us-east-1", day(2024, 3, 7), None)
        );
    }

    #[test]
    fn default_flow_log_layout_with_hour_and_an_organisation_prefix() {
        assert_eq!(
            parse_key(
                "org/team-a/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/12/31/23/x.log.gz"
            ),
            known(KeyKind::FlowLog, "eu-west-1", day(2024, 12, 31), Some(23))
        );
    }

    #[test]
    fn hive_flow_log_layout_with_and_without_hour() {
        assert_eq!(
            parse_key(
                "logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-west-2/year=2024/month=02/day=29/hour=05/f.log.gz"
            ),
            known(KeyKind::FlowLog, "us-west-2", day(2024, 2, 29), Some(5))
        );
        assert_eq!(
            parse_key(
                "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-west-2/year=2024/month=02/day=01/f.parquet"
            ),
            known(KeyKind::FlowLog, "us-west-2", day(2024, 2, 1), None)
        );
    }

    #[test]
    fn config_layout_is_not_zero_padded() {
        assert_eq!(
            parse_key(
                "AWSLogs/123456789012/Config/ap-southeast-2/2024/1/5/ConfigHistory/123456789012_Config_ap-southeast-2_ConfigHistory_AWS::EC2::NetworkInterface_20240105T000000Z_20240105T060000Z_1.json.gz"
            ),
            known(
                KeyKind::ConfigHistory,
                "ap-southeast-2",
                day(2024, 1, 5),
                None
            )
        );
        assert_eq!(
            parse_key(
                "o-abc/AWSLogs/123456789012/Config/us-east-1/2023/11/30/ConfigSnapshot/s.json.gz"
            ),
            known(
                KeyKind::ConfigSnapshot,
                "us-east-1",
                day(2023, 11, 30),
                None
            )
        );
    }

    #[test]
    fn writability_checks_and_folder_markers_are_skipped() {
        assert_eq!(
            parse_key("AWSLogs/123456789012/Config/ConfigWritabilityCheckFile"),
            KeyParse::Skip
        );
        assert_eq!(
            parse_key("AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/"),
            KeyParse::Skip
        );
    }

    #[test]
    fn other_keys_are_kept_without_a_date() {
        for key in [
            "my-copy/flows.log.gz",
            // impossible dates, bad hours, wrong accounts, unknown services
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2023/02/29/x.log.gz",
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/13/01/x.log.gz",
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/24/x.log.gz",
            "AWSLogs/12345/vpcflowlogs/us-east-1/2024/03/07/x.log.gz",
            "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/x.log.gz",
            "AWSLogs/123456789012/Config/us-east-1/2024/1/5/OversizedChangeNotification/x.json.gz",
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/24/03/07/x.log.gz",
        ] {
            assert_eq!(parse_key(key), KeyParse::Other, "{key}");
        }
    }

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        assert_eq!(
            parse_s3_url("s3://my-logs/AWSLogs/").unwrap(),
            ("my-logs".to_owned(), "AWSLogs/".to_owned())
        );
        assert_eq!(
            parse_s3_url("s3://my-logs").unwrap(),
            ("my-logs".to_owned(), String::new())
        );
        for bad in [
            "my-logs/x",
            "s3://",
            "s3://Upper/x",
            "https://my-logs/x",
            "s3://ab",
        ] {
            assert!(
                matches!(parse_s3_url(bad), Err(AwsError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        for days in [-1000, 0, 59, 60, 11_016, 19_723, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
    }
}
