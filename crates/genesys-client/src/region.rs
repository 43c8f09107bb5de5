//! Genesys Cloud regions: their names, domains and the API and login bases they imply.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::config::config;
use crate::{ConfigField, Error};

/// A Genesys Cloud region (an AWS region hosting an organisation).
///
/// Parses from the region name (`eu-west-1`) or from its domain (`mypurecloud.ie`);
/// displays as the name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// Americas (US East), `mypurecloud.com`.
    #[default]
    UsEast1,
    /// EMEA (Dublin), `mypurecloud.ie`.
    EuWest1,
    /// Asia Pacific (Sydney), `mypurecloud.com.au`.
    ApSoutheast2,
    /// Asia Pacific (Tokyo), `mypurecloud.jp`.
    ApNortheast1,
    /// EMEA (Frankfurt), `mypurecloud.de`.
    EuCentral1,
    /// Americas (US West), `usw2.pure.cloud`.
    UsWest2,
    /// Americas (Canada), `cac1.pure.cloud`.
    CaCentral1,
    /// Asia Pacific (Seoul), `apne2.pure.cloud`.
    ApNortheast2,
    /// EMEA (London), `euw2.pure.cloud`.
    EuWest2,
    /// Asia Pacific (Mumbai), `aps1.pure.cloud`.
    ApSouth1,
    /// Americas (US East 2, FedRAMP), `use2.us-gov-pure.cloud`.
    UsEast2,
    /// Americas (São Paulo), `sae1.pure.cloud`.
    SaEast1,
    /// Middle East (UAE), `mec1.pure.cloud`.
    MeCentral1,
    /// Asia Pacific (Osaka), `apne3.pure.cloud`.
    ApNortheast3,
    /// EMEA (Zurich), `euc2.pure.cloud`.
    EuCentral2,
    /// Americas (Mexico), `mxc1.pure.cloud`.
    MxCentral1,
    /// Asia Pacific (Singapore), `apse1.pure.cloud`.
    ApSoutheast1,
}

/// Every region with its name and domain, the one table the rest is derived from.
const REGIONS: [(Region, &str, &str); 17] = [
    (Region::UsEast1, "us-east-1", "mypurecloud.com"),
    (Region::EuWest1, "eu-west-1", "mypurecloud.ie"),
    (Region::ApSoutheast2, "ap-southeast-2", "mypurecloud.com.au"),
    (Region::ApNortheast1, "ap-northeast-1", "mypurecloud.jp"),
    (Region::EuCentral1, "eu-central-1", "mypurecloud.de"),
    (Region::UsWest2, "us-west-2", "usw2.pure.cloud"),
    (Region::CaCentral1, "ca-central-1", "cac1.pure.cloud"),
    (Region::ApNortheast2, "ap-northeast-2", "apne2.pure.cloud"),
    (Region::EuWest2, "eu-west-2", "euw2.pure.cloud"),
    (Region::ApSouth1, "ap-south-1", "aps1.pure.cloud"),
    (Region::UsEast2, "us-east-2", "use2.us-gov-pure.cloud"),
    (Region::SaEast1, "sa-east-1", "sae1.pure.cloud"),
    (Region::MeCentral1, "me-central-1", "mec1.pure.cloud"),
    (Region::ApNortheast3, "ap-northeast-3", "apne3.pure.cloud"),
    (Region::EuCentral2, "eu-central-2", "euc2.pure.cloud"),
    (Region::MxCentral1, "mx-central-1", "mxc1.pure.cloud"),
    (Region::ApSoutheast1, "ap-southeast-1", "apse1.pure.cloud"),
];

impl Region {
    /// Every region, in the order Genesys lists them.
    pub fn all() -> impl Iterator<Item = Region> {
        REGIONS.iter().map(|(region, _, _)| *region)
    }

    fn row(self) -> &'static (Region, &'static str, &'static str) {
        REGIONS
            .iter()
            .find(|(region, _, _)| *region == self)
            .expect("every region is in the table")
    }

    /// The region name, e.g. `eu-west-1`.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The region's domain, e.g. `mypurecloud.ie`.
    pub fn domain(self) -> &'static str {
        self.row().2
    }

    /// The Platform API base, `https://api.<domain>`.
    pub fn api_base(self) -> Url {
        Url::parse(&format!("https://api.{}", self.domain())).expect("region domains are valid")
    }

    /// The login (OAuth) base, `https://login.<domain>`.
    pub fn login_base(self) -> Url {
        Url::parse(&format!("https://login.{}", self.domain())).expect("region domains are valid")
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Region {
    type Err = Error;

    /// Accepts a region name or a domain, case-insensitively and ignoring surrounding blanks.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().trim_end_matches('.').to_ascii_lowercase();
        REGIONS
            .iter()
            .find(|(_, name, domain)| *name == wanted || *domain == wanted)
            .map(|(region, _, _)| *region)
            .ok_or_else(|| {
                config(
                    ConfigField::Region,
                    format!(
                        "unknown Genesys Cloud region {s:?}; expected a region name such as \
                         eu-west-1 or a domain such as mypurecloud.ie"
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_domains_round_trip() {
        assert_eq!(Region::all().count(), 17);
        for region in Region::all() {
            assert_eq!(region.name().parse::<Region>().unwrap(), region);
            assert_eq!(region.domain().parse::<Region>().unwrap(), region);
            assert_eq!(region.to_string(), region.name());
        }
        assert_eq!(Region::default(), Region::UsEast1);
    }

    #[test]
    fn bases_follow_the_domain() {
        let ie: Region = "mypurecloud.ie".parse().unwrap();
        assert_eq!(ie, Region::EuWest1);
        assert_eq!(ie.api_base().as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(ie.login_base().as_str(), "https://login.mypurecloud.ie/");
        assert_eq!(
            "usw2.pure.cloud".parse::<Region>().unwrap(),
            Region::UsWest2
        );
        assert_eq!(Region::UsEast2.domain(), "use2.us-gov-pure.cloud");
        assert_eq!(
            " AP-SOUTHEAST-2 ".parse::<Region>().unwrap(),
            Region::ApSoutheast2
        );
    }

    #[test]
    fn unknown_region_names_the_setting() {
        let err = "mars-north-1".parse::<Region>().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config {
                    setting: ConfigField::Region,
                    from_env: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("mars-north-1"));
    }
}
