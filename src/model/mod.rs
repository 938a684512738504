//! Model stage: security groups and their rules as Terraform defines them, with the location of
//! every value and where it came from. No I/O happens here.
//!
//! One [`Rule`] is one AWS rule entry: a Terraform `ingress {}` block with three CIDRs becomes three
//! rules that share the block's bytes. Values that cannot be known statically are [`Known::Unknown`]
//! with the span of the expression that defines them; checks skip them or say "unknown".

pub mod address;
mod ports;

use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

pub use address::{Address, InstanceKey};
pub use ports::{PortRange, Protocol};

/// A byte range in one source file (paths are as given to `lint`, usually relative).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Loc {
    /// The file, as found under the linted directory.
    pub file: PathBuf,
    /// Byte offsets into the file.
    pub bytes: Range<usize>,
}

impl Loc {
    /// A location covering `bytes` of `file`.
    pub fn new(file: impl Into<PathBuf>, bytes: Range<usize>) -> Self {
        Self {
            file: file.into(),
            bytes,
        }
    }
}

/// A value that is either known statically or unknown until apply (or beyond what we evaluate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum Known<T> {
    /// Evaluated to this value.
    Known(T),
    /// Depends on something we do not evaluate (a resource attribute, a data source, a missing
    /// variable value); the string says what.
    Unknown(String),
}

impl<T> Known<T> {
    /// The value if known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Self::Known(v) => Some(v),
            Self::Unknown(_) => None,
        }
    }
}

/// Where a value came from, so that a fix knows which bytes to edit and whether they are shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Written literally in the rule.
    Literal,
    /// From `var.NAME` (default, tfvars or `--var-file`).
    Variable {
        /// Variable name.
        name: String,
    },
    /// From `local.NAME`.
    Local {
        /// Local value name.
        name: String,
    },
    /// From `each.key` / `each.value` of a `for_each`, or the iterator of a `dynamic` block.
    ForEach,
    /// From `count.index`.
    CountIndex,
    /// From an input of a module call (the bytes to edit are in the caller).
    ModuleInput {
        /// Address of the module call, e.g. `module.web_sg`.
        call: String,
        /// Input name.
        name: String,
    },
    /// From an expression combining several of the above.
    Expression,
}

/// One attribute that defines part of a rule: where its expression is and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttrSite {
    /// Attribute name (`from_port`, `cidr_blocks`, …).
    pub name: String,
    /// The attribute's expression bytes (for a list source, the element when it is a literal).
    pub loc: Loc,
    /// Where the value came from.
    pub origin: Origin,
}

/// Traffic direction of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Inbound rule.
    Ingress,
    /// Outbound rule.
    Egress,
}

/// The peer a rule allows (source for ingress, destination for egress).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Source {
    /// An IPv4 or IPv6 network.
    Cidr(ipnet::IpNet),
    /// Another security group: an `sg-…` id or a Terraform reference such as
    /// `aws_security_group.app`.
    Group(String),
    /// A managed prefix list (`pl-…`) or a reference to one.
    PrefixList(String),
    /// The group the rule belongs to (`self = true`).
    SelfGroup,
}

impl Source {
    /// Whether this source is the whole IPv4 or IPv6 internet (`0.0.0.0/0`, `::/0`).
    pub fn is_world(&self) -> bool {
        matches!(self, Self::Cidr(net) if net.prefix_len() == 0)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cidr(net) => write!(f, "{net}"),
            Self::Group(g) => write!(f, "group {g}"),
            Self::PrefixList(p) => write!(f, "prefix list {p}"),
            Self::SelfGroup => f.write_str("self"),
        }
    }
}

/// How Terraform declares a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStyle {
    /// An `ingress {}` / `egress {}` block (or list element) inside `aws_security_group`.
    Inline,
    /// An `aws_security_group_rule` resource.
    SecurityGroupRule,
    /// An `aws_vpc_security_group_ingress_rule` / `..._egress_rule` resource.
    VpcRule,
}

/// Which group a rule belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum GroupRef {
    /// A group defined in the linted Terraform (index into [`Model::groups`] by address).
    Address(String),
    /// A literal group id (`sg-…`) defined elsewhere.
    Id(String),
    /// Not known statically.
    Unknown,
}

/// One AWS security-group rule entry (one source, one protocol, one port range).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Directory of the root module the rule was evaluated in (addresses are unique per root).
    pub root: PathBuf,
    /// Terraform address of the resource instance that declares the rule, e.g.
    /// `module.sg.aws_security_group_rule.ingress_rules[0]`.
    pub address: Address,
    /// The group the rule belongs to.
    pub group: GroupRef,
    /// Ingress or egress.
    pub direction: Direction,
    /// How it is declared.
    pub style: RuleStyle,
    /// IP protocol, normalised to a number.
    pub protocol: Known<Protocol>,
    /// Ports (or ICMP type/code), as written.
    pub ports: Known<PortRange>,
    /// The single peer of this entry.
    pub source: Known<Source>,
    /// The rule's `description`, `None` when absent or empty.
    pub description: Known<Option<String>>,
    /// The block, list element or resource that declares the rule.
    pub loc: Loc,
    /// The attributes that define the rule, with their origins.
    pub attrs: Vec<AttrSite>,
    /// The deployed `sgr-…` id of a standalone rule resource, when state was given.
    pub deployed_id: Option<String>,
    /// Index of the entry among the entries its declaration expands to (0-based), used to tell
    /// apart the entries of one block.
    pub entry: usize,
}

impl Rule {
    /// The attribute site named `name`, if the rule has it.
    pub fn attr(&self, name: &str) -> Option<&AttrSite> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// A one-line summary, e.g. `tcp 22 from 0.0.0.0/0`.
    pub fn summary(&self) -> String {
        if self.protocol == Known::Known(Protocol::All) {
            let peer = match &self.source {
                Known::Known(s) => s.to_string(),
                Known::Unknown(_) => "unknown source".to_owned(),
            };
            let dir = if self.direction == Direction::Ingress {
                "from"
            } else {
                "to"
            };
            return format!("all traffic {dir} {peer}");
        }
        let proto = match &self.protocol {
            Known::Known(p) => p.to_string(),
            Known::Unknown(_) => "? protocol".to_owned(),
        };
        let ports = match (&self.protocol, &self.ports) {
            (Known::Known(Protocol::All), _) => "all ports".to_owned(),
            (_, Known::Known(r)) => r.to_string(),
            (_, Known::Unknown(_)) => "? ports".to_owned(),
        };
        let peer = match &self.source {
            Known::Known(s) => s.to_string(),
            Known::Unknown(_) => "unknown source".to_owned(),
        };
        let dir = match self.direction {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        };
        format!("{proto} {ports} {dir} {peer}")
    }
}

/// An `aws_security_group` (or `aws_default_security_group`) instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroup {
    /// Directory of the root module the group was evaluated in.
    pub root: PathBuf,
    /// Terraform address with index key.
    pub address: Address,
    /// The group's `description`, `None` when absent or empty.
    pub description: Known<Option<String>>,
    /// The resource block.
    pub loc: Loc,
    /// Location of the `description` attribute, when present.
    pub description_loc: Option<Loc>,
    /// Whether the group declares inline `ingress`/`egress` rules (blocks, `dynamic` blocks or
    /// the attribute form).
    pub has_inline_rules: bool,
    /// The deployed `sg-…` id, when state was given.
    pub deployed_id: Option<String>,
    /// `name`, when known statically (links the group to a deployed one without state).
    pub name: Option<String>,
    /// `name_prefix`, when known statically.
    pub name_prefix: Option<String>,
    /// `vpc_id`, when known statically.
    pub vpc_id: Option<String>,
}

/// A Terraform value that the evaluator could not know, kept so that the summary can say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownSite {
    /// Address of the resource it belongs to.
    pub address: String,
    /// What could not be evaluated.
    pub what: String,
    /// Where.
    pub loc: Loc,
}

/// Everything the static checks look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Model {
    /// Groups, in file order.
    pub groups: Vec<SecurityGroup>,
    /// Rules (ingress and egress), in file order.
    pub rules: Vec<Rule>,
    /// `count`/`for_each`/`dynamic` collections that could not be evaluated: the resources behind
    /// them are not in `rules`.
    pub unknown_expansions: Vec<UnknownSite>,
}

impl Model {
    /// The group with this address in root module `root`.
    pub fn group(&self, root: &std::path::Path, address: &str) -> Option<&SecurityGroup> {
        self.groups
            .iter()
            .find(|g| g.root == root && g.address.to_string() == address)
    }

    /// The rules (ingress and egress) that belong to `group`.
    pub fn rules_of<'a>(&'a self, group: &'a SecurityGroup) -> impl Iterator<Item = &'a Rule> {
        let address = group.address.to_string();
        self.rules.iter().filter(move |r| {
            r.root == group.root && matches!(&r.group, GroupRef::Address(a) if *a == address)
        })
    }

    /// Rules whose attribute `name` is defined by the same bytes as `site`: editing those bytes
    /// changes all of them.
    pub fn rules_sharing<'a>(
        &'a self,
        name: &'a str,
        loc: &'a Loc,
    ) -> impl Iterator<Item = &'a Rule> {
        self.rules
            .iter()
            .filter(move |r| r.attr(name).is_some_and(|a| &a.loc == loc))
    }
}
