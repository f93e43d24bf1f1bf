//! Reading the firm configurator's answer: where the API and the security gateway are.
//!
//! The shape of that answer is *unverified*: Advoware documents only that the configurator
//! names the relay or connector (the API) and the security gateway. This module assumes a
//! JSON object and takes the first of these fields that is present (names compared without
//! regard to case), so that a different spelling is a change here alone:
//!
//! ```json
//! { "ApiUrl": "https://relay.example/kanzlei/", "SecurityGatewayUrl": "https://gateway.example/" }
//! ```
//!
//! API address: `ApiUrl`, `ConnectorUrl` or `RelayUrl`; gateway: `SecurityGatewayUrl` or
//! `GatewayUrl`.

use serde_json::Value;

use super::config::Addresses;

const API_FIELDS: [&str; 3] = ["ApiUrl", "ConnectorUrl", "RelayUrl"];
const GATEWAY_FIELDS: [&str; 2] = ["SecurityGatewayUrl", "GatewayUrl"];

/// The addresses in a configurator answer, or what is missing from it.
pub fn parse_configurator_answer(answer: &Value) -> Result<Addresses, String> {
    let object = answer
        .as_object()
        .ok_or("the configurator answer is not a JSON object")?;
    let find = |names: &[&str]| {
        names.iter().find_map(|name| {
            object
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, value)| value.as_str())
                .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        })
    };
    let api = find(&API_FIELDS).ok_or("the configurator answer names no API address (ApiUrl)")?;
    let gateway = find(&GATEWAY_FIELDS)
        .ok_or("the configurator answer names no security gateway (SecurityGatewayUrl)")?;
    Ok(Addresses::new(api, gateway))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn both_addresses_are_read_and_normalised() {
        let answer = json!({"apiurl": "https://relay.test/k", "GatewayUrl": "https://gw.test/"});
        assert_eq!(
            parse_configurator_answer(&answer),
            Ok(Addresses {
                api: "https://relay.test/k/".into(),
                gateway: "https://gw.test".into()
            })
        );
    }

    #[test]
    fn a_missing_address_is_named() {
        let answer = json!({"ApiUrl": "https://relay.test/"});
        assert_eq!(
            parse_configurator_answer(&answer),
            Err("the configurator answer names no security gateway (SecurityGatewayUrl)".into())
        );
        assert!(parse_configurator_answer(&json!([])).is_err());
    }
}
