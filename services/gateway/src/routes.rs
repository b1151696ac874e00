//! Which backend serves a gRPC method, and what kind of call it is.

/// The backends the gateway routes to, by the package segment of their contracts
/// (`aftercare.tickets.v1` → `tickets`).
pub const BACKENDS: [&str; 5] = ["tickets", "customers", "workforce", "feedback", "knowledge"];

/// Method name prefixes of calls that change nothing.
const READ_PREFIXES: [&str; 6] = ["Get", "List", "Search", "Suggest", "Lookup", "Watch"];

/// Method name prefixes of reads that are safe to retry.
const RETRYABLE_PREFIXES: [&str; 4] = ["Get", "List", "Search", "Lookup"];

/// A gRPC method, parsed from a request path (`/aftercare.tickets.v1.TicketService/GetTicket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcPath {
    /// The fully qualified service (`aftercare.tickets.v1.TicketService`).
    pub service: String,
    /// The method (`GetTicket`).
    pub method: String,
}

impl RpcPath {
    /// Parses a gRPC request path; `None` when it is not `/<package>.<Service>/<Method>`.
    pub fn parse(path: &str) -> Option<Self> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        };
        (valid(service) && valid(method) && !method.contains('.') && service.contains('.')).then(
            || Self {
                service: service.to_owned(),
                method: method.to_owned(),
            },
        )
    }

    /// `service/method`, as policies and logs name it.
    pub fn full(&self) -> String {
        format!("{}/{}", self.service, self.method)
    }

    /// The package (`aftercare.tickets.v1`).
    pub fn package(&self) -> &str {
        self.service
            .rsplit_once('.')
            .map_or(self.service.as_str(), |(package, _)| package)
    }

    /// The backend that serves it (`tickets`), if any.
    pub fn backend(&self) -> Option<&'static str> {
        let mut parts = self.package().split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("aftercare"), Some(name), Some(_version), None) => {
                BACKENDS.into_iter().find(|backend| *backend == name)
            }
            _ => None,
        }
    }

    /// True when the call changes nothing (Get, List, Search, Suggest, Lookup, Watch).
    pub fn is_read(&self) -> bool {
        starts_with_word(&self.method, &READ_PREFIXES)
    }

    /// True when the call may be sent again after it failed before any answer.
    pub fn is_retryable(&self) -> bool {
        starts_with_word(&self.method, &RETRYABLE_PREFIXES)
    }

    /// Its method group: the area (`tickets`, `sla`, `after_sales`, `customers`, …) and
    /// `read` or `write`, e.g. `tickets.read`.
    pub fn group(&self) -> String {
        let kind = if self.is_read() { "read" } else { "write" };
        format!("{}.{kind}", self.area())
    }

    /// The area of the service: its name without `Service`, in snake case, or the package
    /// name when that is the plural (`TicketService` in `tickets` → `tickets`).
    fn area(&self) -> String {
        let name = self.service.rsplit('.').next().unwrap_or_default();
        let name = name.strip_suffix("Service").unwrap_or(name);
        let snake = snake_case(name);
        let package = self.package().split('.').nth(1).unwrap_or_default();
        if package == snake || package == format!("{snake}s") {
            package.to_owned()
        } else {
            snake
        }
    }
}

/// True when `method` starts with one of `prefixes` followed by a capital (so `Getaway` is no
/// `Get`).
fn starts_with_word(method: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        method
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.chars().next().is_none_or(|c| c.is_ascii_uppercase()))
    })
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> RpcPath {
        RpcPath::parse(p).unwrap()
    }

    #[test]
    fn a_method_routes_by_its_package() {
        let get = path("/aftercare.tickets.v1.TicketService/GetTicket");
        assert_eq!(get.backend(), Some("tickets"));
        assert_eq!(get.package(), "aftercare.tickets.v1");
        assert_eq!(
            path("/aftercare.workforce.v1.PerformanceService/GetAgentPerformance").backend(),
            Some("workforce")
        );
        assert_eq!(path("/grpc.health.v1.Health/Check").backend(), None);
        assert_eq!(
            path("/aftercare.billing.v1.BillService/GetBill").backend(),
            None
        );
    }

    #[test]
    fn malformed_paths_are_not_methods() {
        for bad in [
            "",
            "/",
            "/GetTicket",
            "/a.B/",
            "/a.B/C/D",
            "/a b.C/D",
            "/nodots/Get",
        ] {
            assert_eq!(RpcPath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn methods_fall_into_read_and_write_groups_per_area() {
        let cases = [
            (
                "aftercare.tickets.v1.TicketService/GetTicket",
                "tickets.read",
            ),
            (
                "aftercare.tickets.v1.TicketService/CreateMessage",
                "tickets.write",
            ),
            (
                "aftercare.tickets.v1.TicketService/WatchTickets",
                "tickets.read",
            ),
            (
                "aftercare.tickets.v1.SlaService/ListSlaPolicies",
                "sla.read",
            ),
            (
                "aftercare.tickets.v1.AfterSalesService/CancelAfterSalesCase",
                "after_sales.write",
            ),
            (
                "aftercare.customers.v1.CustomerService/MergeCustomers",
                "customers.write",
            ),
            (
                "aftercare.workforce.v1.TrainingService/ListCourses",
                "training.read",
            ),
            (
                "aftercare.knowledge.v1.KnowledgeService/SearchArticles",
                "knowledge.read",
            ),
            (
                "aftercare.feedback.v1.FeedbackService/SubmitResponse",
                "feedback.write",
            ),
        ];
        for (method, group) in cases {
            assert_eq!(path(&format!("/{method}")).group(), group, "{method}");
        }
    }

    #[test]
    fn only_plain_reads_are_retried() {
        assert!(path("/a.v1.S/GetTicket").is_retryable());
        assert!(path("/a.v1.S/ListTickets").is_retryable());
        assert!(!path("/a.v1.S/WatchTickets").is_retryable());
        assert!(!path("/a.v1.S/CreateTicket").is_retryable());
        assert!(!path("/a.v1.S/Getaway").is_read());
    }
}
