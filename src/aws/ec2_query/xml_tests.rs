//! The readers on answers shaped like the examples of the EC2 API reference (namespaces, request
//! ids, unknown elements and `<item>` lists included), paging tokens and error documents.

use super::*;

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

fn doc(action: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response {NS}>\n    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n{inner}\n</{action}Response>"
    )
}

#[test]
fn network_interfaces_keep_every_field_tighten_uses() {
    let body = doc(
        "DescribeNetworkInterfaces",
        r"<networkInterfaceSet>
          <item>
            <networkInterfaceId>eni-0f7db66e</networkInterfaceId>
            <subnetId>subnet-c53c87ac</subnetId>
            <vpcId>vpc-cc3c87a5</vpcId>
            <availabilityZone>ap-southeast-1b</availabilityZone>
            <description/>
            <ownerId>053230519467</ownerId>
            <requesterManaged>false</requesterManaged>
            <status>in-use</status>
            <macAddress>02:81:60:cb:27:37</macAddress>
            <privateIpAddress>10.0.0.146</privateIpAddress>
            <sourceDestCheck>true</sourceDestCheck>
            <groupSet>
              <item>
                <groupId>sg-3f4b5653</groupId>
                <groupName>default</groupName>
              </item>
              <item>
                <groupId>sg-0a1b2c3d</groupId>
                <groupName>web</groupName>
              </item>
            </groupSet>
            <attachment>
              <attachmentId>eni-attach-6537fc0c</attachmentId>
              <instanceId>i-22197876</instanceId>
              <instanceOwnerId>053230519467</instanceOwnerId>
              <deviceIndex>0</deviceIndex>
              <status>attached</status>
              <deleteOnTermination>true</deleteOnTermination>
            </attachment>
            <association>
              <publicIp>203.0.113.12</publicIp>
              <publicDnsName>ec2-203-0-113-12.compute.amazonaws.com</publicDnsName>
              <ipOwnerId>amazon</ipOwnerId>
            </association>
            <tagSet/>
            <privateIpAddressesSet>
              <item>
                <privateIpAddress>10.0.0.146</privateIpAddress>
                <primary>true</primary>
              </item>
              <item>
                <privateIpAddress>10.0.0.148</privateIpAddress>
                <primary>false</primary>
              </item>
            </privateIpAddressesSet>
            <ipv6AddressesSet>
              <item><ipv6Address>2001:db8:1234:1a00::123</ipv6Address></item>
            </ipv6AddressesSet>
            <interfaceType>interface</interfaceType>
          </item>
          <item>
            <networkInterfaceId>eni-a66ed5cf</networkInterfaceId>
            <interfaceType>vpc_endpoint</interfaceType>
            <privateIpAddress>10.0.0.200</privateIpAddress>
            <groupSet/>
          </item>
        </networkInterfaceSet>",
    );
    let page = network_interfaces(&body).unwrap();
    assert_eq!(page.next_token, None);
    assert_eq!(
        page.items,
        vec![
            NetworkInterface {
                id: Some("eni-0f7db66e".to_owned()),
                group_ids: vec!["sg-3f4b5653".to_owned(), "sg-0a1b2c3d".to_owned()],
                private_ip: Some("10.0.0.146".to_owned()),
                private_ips: vec!["10.0.0.146".to_owned(), "10.0.0.148".to_owned()],
                ipv6: vec!["2001:db8:1234:1a00::123".to_owned()],
                public_ip: Some("203.0.113.12".to_owned()),
                instance_id: Some("i-22197876".to_owned()),
                interface_type: Some("interface".to_owned()),
                vpc_id: Some("vpc-cc3c87a5".to_owned()),
                subnet_id: Some("subnet-c53c87ac".to_owned()),
                owner_id: Some("053230519467".to_owned()),
            },
            NetworkInterface {
                id: Some("eni-a66ed5cf".to_owned()),
                private_ip: Some("10.0.0.200".to_owned()),
                interface_type: Some("vpc_endpoint".to_owned()),
                ..NetworkInterface::default()
            },
        ]
    );
}

#[test]
fn security_groups_keep_their_permissions() {
    let body = doc(
        "DescribeSecurityGroups",
        r"<securityGroupInfo>
          <item>
            <ownerId>123456789012</ownerId>
            <groupId>sg-1a2b3c4d</groupId>
            <groupName>WebServers</groupName>
            <groupDescription>Web Servers</groupDescription>
            <vpcId>vpc-614cc409</vpcId>
            <ipPermissions>
              <item>
                <ipProtocol>tcp</ipProtocol>
                <fromPort>80</fromPort>
                <toPort>80</toPort>
                <groups/>
                <ipRanges>
                  <item><cidrIp>0.0.0.0/0</cidrIp></item>
                  <item><cidrIp>198.51.100.0/24</cidrIp><description>office &amp; VPN</description></item>
                </ipRanges>
                <ipv6Ranges>
                  <item><cidrIpv6>::/0</cidrIpv6></item>
                </ipv6Ranges>
                <prefixListIds/>
              </item>
              <item>
                <ipProtocol>-1</ipProtocol>
                <groups>
                  <item>
                    <userId>111122223333</userId>
                    <groupId>sg-9f8e7d6c</groupId>
                    <description>peer</description>
                  </item>
                </groups>
                <ipRanges/>
                <prefixListIds>
                  <item><prefixListId>pl-12c4e678</prefixListId><description>s3</description></item>
                </prefixListIds>
              </item>
            </ipPermissions>
            <ipPermissionsEgress>
              <item>
                <ipProtocol>-1</ipProtocol>
                <groups/>
                <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
                <prefixListIds/>
              </item>
            </ipPermissionsEgress>
            <tagSet><item><key>Name</key><value>web</value></item></tagSet>
          </item>
        </securityGroupInfo>
        <nextToken>eyJ2IjoiMiIsImMiOiJ</nextToken>",
    );
    let page = security_groups(&body).unwrap();
    assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiIsImMiOiJ"));
    let owned = |s: &str| s.to_owned();
    assert_eq!(
        page.items,
        vec![SecurityGroup {
            id: Some(owned("sg-1a2b3c4d")),
            name: Some(owned("WebServers")),
            vpc_id: Some(owned("vpc-614cc409")),
            owner_id: Some(owned("123456789012")),
            ingress: vec![
                IpPermission {
                    protocol: Some(owned("tcp")),
                    from_port: Some(80),
                    to_port: Some(80),
                    ranges: vec![
                        (owned("0.0.0.0/0"), None),
                        (owned("198.51.100.0/24"), Some(owned("office & VPN"))),
                        (owned("::/0"), None),
                    ],
                    prefix_lists: vec![],
                    groups: vec![],
                },
                IpPermission {
                    protocol: Some(owned("-1")),
                    from_port: None,
                    to_port: None,
                    ranges: vec![],
                    prefix_lists: vec![(owned("pl-12c4e678"), Some(owned("s3")))],
                    groups: vec![GroupPair {
                        group_id: Some(owned("sg-9f8e7d6c")),
                        user_id: Some(owned("111122223333")),
                        description: Some(owned("peer")),
                    }],
                },
            ],
            egress: vec![IpPermission {
                protocol: Some(owned("-1")),
                ranges: vec![(owned("0.0.0.0/0"), None)],
                ..IpPermission::default()
            }],
        }]
    );
}

#[test]
fn security_group_rules_in_any_element_order() {
    let body = doc(
        "DescribeSecurityGroupRules",
        r"<securityGroupRuleSet>
          <item>
            <securityGroupRuleId>sgr-abcdef01234567890</securityGroupRuleId>
            <groupId>sg-0123456789abcdef0</groupId>
            <groupOwnerId>123456789012</groupOwnerId>
            <isEgress>false</isEgress>
            <ipProtocol>tcp</ipProtocol>
            <fromPort>22</fromPort>
            <toPort>22</toPort>
            <cidrIpv4>203.0.113.0/24</cidrIpv4>
            <description>SSH</description>
            <tagSet/>
          </item>
          <item>
            <toPort>-1</toPort>
            <fromPort>-1</fromPort>
            <isEgress>true</isEgress>
            <ipProtocol>-1</ipProtocol>
            <cidrIpv6>::/0</cidrIpv6>
            <groupId>sg-0123456789abcdef0</groupId>
            <securityGroupRuleId>sgr-11111111111111111</securityGroupRuleId>
          </item>
          <item>
            <securityGroupRuleId>sgr-22222222222222222</securityGroupRuleId>
            <groupId>sg-0123456789abcdef0</groupId>
            <isEgress>false</isEgress>
            <ipProtocol>udp</ipProtocol>
            <fromPort>53</fromPort>
            <toPort>53</toPort>
            <referencedGroupInfo>
              <groupId>sg-0fedcba9876543210</groupId>
              <userId>444455556666</userId>
              <vpcId>vpc-1a2b3c4d</vpcId>
            </referencedGroupInfo>
          </item>
          <item>
            <securityGroupRuleId>sgr-33333333333333333</securityGroupRuleId>
            <groupId>sg-0123456789abcdef0</groupId>
            <isEgress>false</isEgress>
            <ipProtocol>tcp</ipProtocol>
            <fromPort>443</fromPort>
            <toPort>443</toPort>
            <prefixListId>pl-63a5400a</prefixListId>
          </item>
        </securityGroupRuleSet>",
    );
    let page = security_group_rules(&body).unwrap();
    let owned = |s: &str| Some(s.to_owned());
    assert_eq!(
        page.items,
        vec![
            SecurityGroupRule {
                id: owned("sgr-abcdef01234567890"),
                group_id: owned("sg-0123456789abcdef0"),
                is_egress: false,
                protocol: owned("tcp"),
                from_port: Some(22),
                to_port: Some(22),
                cidr_ipv4: owned("203.0.113.0/24"),
                description: owned("SSH"),
                ..SecurityGroupRule::default()
            },
            SecurityGroupRule {
                id: owned("sgr-11111111111111111"),
                group_id: owned("sg-0123456789abcdef0"),
                is_egress: true,
                protocol: owned("-1"),
                from_port: Some(-1),
                to_port: Some(-1),
                cidr_ipv6: owned("::/0"),
                ..SecurityGroupRule::default()
            },
            SecurityGroupRule {
                id: owned("sgr-22222222222222222"),
                group_id: owned("sg-0123456789abcdef0"),
                protocol: owned("udp"),
                from_port: Some(53),
                to_port: Some(53),
                referenced_group: Some(GroupPair {
                    group_id: owned("sg-0fedcba9876543210"),
                    user_id: owned("444455556666"),
                    description: None,
                }),
                ..SecurityGroupRule::default()
            },
            SecurityGroupRule {
                id: owned("sgr-33333333333333333"),
                group_id: owned("sg-0123456789abcdef0"),
                protocol: owned("tcp"),
                from_port: Some(443),
                to_port: Some(443),
                prefix_list_id: owned("pl-63a5400a"),
                ..SecurityGroupRule::default()
            },
        ]
    );
}

#[test]
fn prefix_lists_and_their_entries() {
    let body = doc(
        "DescribeManagedPrefixLists",
        r"<prefixListSet>
          <item>
            <addressFamily>IPv4</addressFamily>
            <maxEntries>10</maxEntries>
            <ownerId>123456789012</ownerId>
            <prefixListArn>arn:aws:ec2:us-east-1:123456789012:prefix-list/pl-0123456abcabcabc1</prefixListArn>
            <prefixListId>pl-0123456abcabcabc1</prefixListId>
            <prefixListName>vpc-cidrs</prefixListName>
            <state>create-complete</state>
            <version>1</version>
          </item>
          <item>
            <prefixListId>pl-02cd2c6b</prefixListId>
            <prefixListName>com.amazonaws.us-east-1.dynamodb</prefixListName>
          </item>
        </prefixListSet>
        <nextToken/>",
    );
    let page = managed_prefix_lists(&body).unwrap();
    assert_eq!(page.next_token, None, "an empty token ends the listing");
    assert_eq!(
        page.items,
        vec![
            ManagedPrefixList {
                id: Some("pl-0123456abcabcabc1".to_owned()),
                name: Some("vpc-cidrs".to_owned()),
            },
            ManagedPrefixList {
                id: Some("pl-02cd2c6b".to_owned()),
                name: Some("com.amazonaws.us-east-1.dynamodb".to_owned()),
            },
        ]
    );

    let body = doc(
        "GetManagedPrefixListEntries",
        r"<entrySet>
          <item><cidr>10.0.0.0/16</cidr><description>vpc-a</description></item>
          <item><description>no cidr</description></item>
          <item><cidr>10.2.0.0/16</cidr></item>
        </entrySet>
        <nextToken>page-2</nextToken>",
    );
    let page = prefix_list_entries(&body).unwrap();
    assert_eq!(page.items, ["10.0.0.0/16", "10.2.0.0/16"]);
    assert_eq!(page.next_token.as_deref(), Some("page-2"));
}

#[test]
fn flow_logs_keep_destination_and_format() {
    let body = doc(
        "DescribeFlowLogs",
        r"<flowLogSet>
          <item>
            <deliverLogsStatus>SUCCESS</deliverLogsStatus>
            <flowLogId>fl-1a2b3c4d</flowLogId>
            <flowLogStatus>ACTIVE</flowLogStatus>
            <logDestinationType>cloud-watch-logs</logDestinationType>
            <logDestination>arn:aws:logs:us-east-1:123456789012:log-group:flows</logDestination>
            <logGroupName>flows</logGroupName>
            <resourceId>vpc-1a2b3c4d</resourceId>
            <trafficType>ALL</trafficType>
            <logFormat>${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr}</logFormat>
            <maxAggregationInterval>600</maxAggregationInterval>
          </item>
          <item>
            <flowLogId>fl-5e6f7a8b</flowLogId>
            <logDestinationType>s3</logDestinationType>
            <logDestination>arn:aws:s3:::my-logs/flows/</logDestination>
            <resourceId>subnet-9d4a7b6c</resourceId>
            <trafficType>REJECT</trafficType>
          </item>
        </flowLogSet>",
    );
    let page = flow_logs(&body).unwrap();
    let owned = |s: &str| Some(s.to_owned());
    assert_eq!(
        page.items,
        vec![
            FlowLogInfo {
                flow_log_id: owned("fl-1a2b3c4d"),
                log_format: owned("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr}"),
                log_destination: owned("arn:aws:logs:us-east-1:123456789012:log-group:flows"),
                log_destination_type: owned("cloud-watch-logs"),
                log_group_name: owned("flows"),
                resource_id: owned("vpc-1a2b3c4d"),
                traffic_type: owned("ALL"),
            },
            FlowLogInfo {
                flow_log_id: owned("fl-5e6f7a8b"),
                log_destination: owned("arn:aws:s3:::my-logs/flows/"),
                log_destination_type: owned("s3"),
                resource_id: owned("subnet-9d4a7b6c"),
                traffic_type: owned("REJECT"),
                ..FlowLogInfo::default()
            },
        ]
    );
}

#[test]
fn empty_lists_and_unknown_siblings_are_fine() {
    let page = security_groups(&doc(
        "DescribeSecurityGroups",
        "<unknownFutureField><item><x>1</x></item></unknownFutureField><securityGroupInfo/>",
    ))
    .unwrap();
    assert_eq!(page, Page::default());
    // No list element at all: nothing listed (AWS may leave an empty list out).
    let page = flow_logs(&doc("DescribeFlowLogs", "")).unwrap();
    assert_eq!(page, Page::default());
}

#[test]
fn another_document_or_broken_xml_is_an_error() {
    // The answer of another action.
    let err =
        security_groups(&doc("DescribeNetworkInterfaces", "<networkInterfaceSet/>")).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a `DescribeSecurityGroupsResponse` document"),
        "{err}"
    );
    assert!(network_interfaces("this is not XML at all").is_err());
    assert!(network_interfaces("").is_err());
    // A port that is not a number.
    let body = doc(
        "DescribeSecurityGroupRules",
        "<securityGroupRuleSet><item><fromPort>eighty</fromPort></item></securityGroupRuleSet>",
    );
    let err = security_group_rules(&body).unwrap_err();
    assert!(
        err.to_string().contains("`eighty` is not a number"),
        "{err}"
    );
}

#[test]
fn error_documents_give_code_and_message() {
    let ec2 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>b4f4b8e4-2b8a-4e4b-9d4c-EXAMPLE</RequestID></Response>";
    assert_eq!(
        error(ec2),
        Some(ErrorDoc {
            code: Some("UnauthorizedOperation".to_owned()),
            message: Some("You are not authorized to perform this operation.".to_owned()),
        })
    );
    let bare = "<Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error>";
    assert_eq!(
        error(bare).and_then(|e| e.code).as_deref(),
        Some("Throttling")
    );
    assert_eq!(error("<html><body>502 Bad Gateway</body></html>"), None);
    assert_eq!(error("not xml"), None);
}
