//! Sharing the strings that repeat from one operation to the next instead of allocating them each time.
//!
//! A server sees the same few route templates, hosts and user agents over and over; a consumer sees
//! the same topics. Boundaries record them as span names and attribute values on every operation, so
//! copying them each time is a measurable part of an instrumented request. Two tools, both bounded:
//!
//! - [`Names`] keeps one `&'static` copy of each low-cardinality name (a span name, a route template)
//!   for the life of the process, up to a fixed number of entries; past that it stops keeping new ones
//!   and callers allocate as before, so a misbehaving route extractor cannot grow memory without end.
//! - [`RecentValue`] remembers the last value a thread recorded in one place (keep-alive connections
//!   and proxies repeat the same host and user agent), and hands out shared copies while it repeats.
//!
//! # Every cache of the family
//!
//! Each one is bounded; past its bound an operation pays the unshared cost it would pay without the
//! cache, and memory stays flat.
//!
//! | cache | where | scope | key | bound | when full |
//! |---|---|---|---|---|---|
//! | HTTP route span names and `http.route` values | [`ROUTE_NAMES`] | process | method, route template | 4,096 | new routes allocate per request |
//! | messaging span names `{operation} {destination}` | [`crate::messaging::span_name`] (a [`Names`]) | process | operation, destination | 4,096 | new names allocate per operation |
//! | RPC span names and `rpc.method` values | [`crate::rpc::Methods::method`], [`crate::rpc::RecognizedMethod::known`] (a [`Names`]) | process | method | 4,096 | new methods allocate per call |
//! | host, user agent (HTTP server), routing key (RabbitMQ) | [`repeated`] | thread | the last value of each kind | 1 each | a new value replaces the last |
//! | peer and client IP addresses (HTTP server) | [`ip_address`] | thread | the last address | 1 | a new address replaces the last |
//! | destination sets: span name, destination value, bound metric sets | [`crate::messaging::RecentDestinations`] | one client (Kafka producer or consumer, RabbitMQ channel or consumer) | operation, group, topic or exchange and routing key | 32 latest | the oldest is dropped and made again if it comes back |
//! | per-partition metric sets | [`crate::messaging::DestinationSets::partition`] | one destination set | partition id | partitions 0–63 | higher partitions are measured unbound |
//! | bound metric attribute sets | [`crate::metrics`] (`Histogram`, `Counter`, `UpDownCounter`) | one instrument | the attribute values | 512 | new sets are measured unbound (the SDK hashes them) |
//! | Kafka partition id values | [`partition_id`] | process | partition id | 0–255, made once | higher ids are formatted per message |
//!
//! Boundary crates keep no caches of their own: each one above is defined here or in the core module
//! named, so this table is the whole list.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use opentelemetry::StringValue;

/// A bounded set of interned names, each keyed by a prefix (such as an HTTP method or an operation) and
/// a low-cardinality text (such as a route template or a topic).
///
/// ```
/// use tracewire_core::intern::Names;
/// static NAMES: Names = Names::new(1024);
/// let first = NAMES.get("GET", "/users/{id}", |p, t| format!("{p} {t}"));
/// let again = NAMES.get("GET", "/users/{id}", |p, t| format!("{p} {t}"));
/// assert_eq!(first.name, "GET /users/{id}");
/// assert_eq!(first.text.as_str(), "/users/{id}");
/// // The second call allocated nothing: both are the same interned strings.
/// assert!(matches!((first.name, again.name), (std::borrow::Cow::Borrowed(a), std::borrow::Cow::Borrowed(b)) if std::ptr::eq(a, b)));
/// ```
#[derive(Debug)]
pub struct Names {
    capacity: usize,
    entries: RwLock<Option<HashMap<(&'static str, &'static str), Interned>>>,
}

#[derive(Clone, Copy, Debug)]
struct Interned {
    text: &'static str,
    name: &'static str,
}

/// A name and its text as [`Names::get`] returns them: borrowed from the interned set, or owned when the
/// set is full.
///
/// ```
/// use tracewire_core::intern::Names;
/// static NAMES: Names = Names::new(8);
/// let named = NAMES.get("process", "orders", |p, t| format!("{p} {t}"));
/// assert_eq!(named.name, "process orders");
/// ```
#[derive(Clone, Debug)]
pub struct Named {
    /// The name made from the prefix and the text.
    pub name: Cow<'static, str>,
    /// The text, to record as an attribute value.
    pub text: StringValue,
}

impl Names {
    /// An empty set that keeps at most `capacity` names.
    ///
    /// ```
    /// static NAMES: tracewire_core::intern::Names = tracewire_core::intern::Names::new(256);
    /// ```
    pub const fn new(capacity: usize) -> Self {
        Names {
            capacity,
            entries: RwLock::new(None),
        }
    }

    /// The name `make(prefix, text)` and `text`, interned on first use while the set has room.
    /// `prefix` is one of a fixed set (a method, an operation name): it is part of the key by address
    /// and by value.
    ///
    /// ```
    /// use tracewire_core::intern::Names;
    /// static NAMES: Names = Names::new(1);
    /// NAMES.get("GET", "/a", |p, t| format!("{p} {t}"));
    /// // Full: a new text still gets its name, built for this call only.
    /// assert_eq!(NAMES.get("GET", "/b", |p, t| format!("{p} {t}")).name, "GET /b");
    /// ```
    pub fn get(
        &self,
        prefix: &'static str,
        text: &str,
        make: impl FnOnce(&str, &str) -> String,
    ) -> Named {
        // Most operations on a thread repeat the previous one's name: check that first, without a lock
        // or a hash.
        let set = self as *const Names as usize;
        let last = LAST_NAME.get();
        if let Some((last_set, last_prefix, interned)) = last
            && last_set == set
            && std::ptr::eq(last_prefix, prefix)
            && interned.text == text
        {
            return interned.named();
        }
        let found = self.find_or_insert(prefix, text, make);
        if let Some(interned) = found.1 {
            LAST_NAME.set(Some((set, prefix, interned)));
        }
        found.0
    }

    fn find_or_insert(
        &self,
        prefix: &'static str,
        text: &str,
        make: impl FnOnce(&str, &str) -> String,
    ) -> (Named, Option<Interned>) {
        if let Ok(entries) = self.entries.read()
            && let Some(found) = entries.as_ref().and_then(|e| lookup(e, prefix, text))
        {
            return (found.named(), Some(found));
        }
        let Ok(mut entries) = self.entries.write() else {
            return (owned(prefix, text, make), None);
        };
        let entries = entries.get_or_insert_with(HashMap::new);
        if let Some(found) = lookup(entries, prefix, text) {
            return (found.named(), Some(found));
        }
        if entries.len() >= self.capacity {
            return (owned(prefix, text, make), None);
        }
        // Leaked on purpose: interned names live as long as the process, and there are at most
        // `capacity` of them.
        let text: &'static str = Box::leak(Box::from(text));
        let name: &'static str = Box::leak(make(prefix, text).into_boxed_str());
        let interned = Interned { text, name };
        entries.insert((prefix, text), interned);
        (interned.named(), Some(interned))
    }
}

thread_local! {
    /// The name this thread got last: which set (by address), the prefix and the interned entry.
    static LAST_NAME: std::cell::Cell<Option<(usize, &'static str, Interned)>> =
        const { std::cell::Cell::new(None) };
}

fn lookup(
    entries: &HashMap<(&'static str, &'static str), Interned>,
    prefix: &'static str,
    text: &str,
) -> Option<Interned> {
    // The map's keys are covariant: a borrowed text looks up a `'static` one.
    let entries: &HashMap<(&str, &str), Interned> = entries;
    entries.get(&(prefix, text)).copied()
}

impl Interned {
    fn named(self) -> Named {
        Named {
            name: Cow::Borrowed(self.name),
            text: StringValue::from(self.text),
        }
    }
}

fn owned(prefix: &str, text: &str, make: impl FnOnce(&str, &str) -> String) -> Named {
    Named {
        name: Cow::Owned(make(prefix, text)),
        text: StringValue::from(Arc::<str>::from(text)),
    }
}

/// `text` as an attribute value for a setting that every operation records (a broker address, a client
/// id, a consumer group): reference counted, so the copy made per span and metric is a count, not an
/// allocation, and bound metric sets recognise it by address. (A `StringValue` made from a `String`
/// copies the text on every clone.)
///
/// ```
/// let address = tracewire_core::intern::shared("broker.internal");
/// let copy = address.clone();
/// assert!(std::ptr::eq(address.as_str(), copy.as_str())); // one text, counted twice
/// ```
pub fn shared(text: impl Into<Arc<str>>) -> StringValue {
    StringValue::from(text.into())
}

/// HTTP server span names and `http.route` values, by method and route template: a server has a fixed
/// set of routes, so each name is made once. A route extractor that returns unbounded values fills the
/// set, and then pays per request.
///
/// ```
/// use tracewire_core::intern::ROUTE_NAMES;
/// let named = ROUTE_NAMES.get("GET", "/users/{id}", |m, t| format!("{m} {t}"));
/// assert_eq!(named.name, "GET /users/{id}");
/// ```
pub static ROUTE_NAMES: Names = Names::new(4096);

/// A value that repeats from one operation to the next on a thread, remembered per kind
/// ([`repeated`]).
///
/// ```
/// use tracewire_core::intern::{Repeated, repeated};
/// let host = repeated(Repeated::Host, "shop.example");
/// assert_eq!(host.as_str(), "shop.example");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeated {
    /// The HTTP server's `server.address` (keep-alive connections and proxies repeat it).
    Host,
    /// The HTTP server's `user_agent.original`.
    UserAgent,
    /// RabbitMQ's routing key (publishers and consumers repeat theirs).
    RoutingKey,
}

thread_local! {
    static RECENT_HOST: RecentValue = const { RecentValue::new() };
    static RECENT_USER_AGENT: RecentValue = const { RecentValue::new() };
    static RECENT_ROUTING_KEY: RecentValue = const { RecentValue::new() };
    static RECENT_IP: RefCell<Option<(std::net::IpAddr, StringValue)>> = const { RefCell::new(None) };
}

/// `value` as an attribute value, shared with this thread's previous one of the same kind when equal.
///
/// ```
/// use tracewire_core::intern::{Repeated, repeated};
/// let a = repeated(Repeated::UserAgent, "curl/8.5");
/// let b = repeated(Repeated::UserAgent, "curl/8.5");
/// assert!(std::ptr::eq(a.as_str(), b.as_str()));
/// ```
pub fn repeated(kind: Repeated, value: &str) -> StringValue {
    let slot = match kind {
        Repeated::Host => &RECENT_HOST,
        Repeated::UserAgent => &RECENT_USER_AGENT,
        Repeated::RoutingKey => &RECENT_ROUTING_KEY,
    };
    slot.with(|recent| recent.get(value))
}

/// An IP address as an attribute value (`network.peer.address`, `client.address`); each thread keeps
/// the last one formatted, since keep-alive connections and proxies repeat it.
///
/// ```
/// let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
/// assert_eq!(tracewire_core::intern::ip_address(ip).as_str(), "127.0.0.1");
/// ```
pub fn ip_address(ip: std::net::IpAddr) -> StringValue {
    RECENT_IP.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return shared(ip.to_string());
        };
        match &*last {
            Some((cached, value)) if *cached == ip => value.clone(),
            _ => {
                let value = shared(ip.to_string());
                *last = Some((ip, value.clone()));
                value
            }
        }
    })
}

/// A Kafka partition id as an attribute value; ids 0–255 are formatted once per process.
///
/// ```
/// assert_eq!(tracewire_core::intern::partition_id(3).as_str(), "3");
/// assert_eq!(tracewire_core::intern::partition_id(1000).as_str(), "1000");
/// ```
pub fn partition_id(partition: i32) -> StringValue {
    static SMALL: std::sync::OnceLock<Box<[StringValue]>> = std::sync::OnceLock::new();
    let small = SMALL.get_or_init(|| (0..256).map(|id: i32| shared(id.to_string())).collect());
    usize::try_from(partition)
        .ok()
        .and_then(|id| small.get(id))
        .cloned()
        .unwrap_or_else(|| StringValue::from(partition.to_string()))
}

/// The last value recorded in one place on this thread, shared while it repeats. Use it in a
/// `thread_local!`, one per attribute.
///
/// ```
/// use tracewire_core::intern::RecentValue;
/// thread_local! {
///     static HOST: RecentValue = const { RecentValue::new() };
/// }
/// let a = HOST.with(|h| h.get("shop.example"));
/// let b = HOST.with(|h| h.get("shop.example"));
/// assert_eq!(a, b);
/// assert_eq!(HOST.with(|h| h.get("api.example")).as_str(), "api.example");
/// ```
#[derive(Debug, Default)]
pub struct RecentValue(RefCell<Option<StringValue>>);

impl RecentValue {
    /// Remembers nothing yet.
    ///
    /// ```
    /// let recent = tracewire_core::intern::RecentValue::new();
    /// assert_eq!(recent.get("x").as_str(), "x");
    /// ```
    pub const fn new() -> Self {
        RecentValue(RefCell::new(None))
    }

    /// `value` as a string value, shared with the previous call's when they are equal.
    ///
    /// ```
    /// let recent = tracewire_core::intern::RecentValue::new();
    /// assert_eq!(recent.get("curl/8.5").as_str(), "curl/8.5");
    /// ```
    pub fn get(&self, value: &str) -> StringValue {
        let Ok(mut last) = self.0.try_borrow_mut() else {
            return StringValue::from(Arc::<str>::from(value));
        };
        match &*last {
            Some(cached) if cached.as_str() == value => cached.clone(),
            _ => {
                let fresh = StringValue::from(Arc::<str>::from(value));
                *last = Some(fresh.clone());
                fresh
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(prefix: &str, text: &str) -> String {
        format!("{prefix} {text}")
    }

    #[test]
    fn the_last_name_never_answers_for_another_set_or_prefix() {
        static A: Names = Names::new(16);
        static B: Names = Names::new(16);
        assert_eq!(A.get("GET", "/x", join).name, "GET /x");
        assert_eq!(A.get("POST", "/x", join).name, "POST /x");
        assert_eq!(
            B.get("POST", "/x", |p, t| format!("{p}:{t}")).name,
            "POST:/x"
        );
        assert_eq!(A.get("POST", "/x", join).name, "POST /x");
        assert_eq!(A.get("POST", "/y", join).name, "POST /y");
    }

    #[test]
    fn a_full_set_keeps_its_size_and_still_names_everything() {
        static SET: Names = Names::new(4);
        for i in 0..100 {
            let text = format!("/route/{i}");
            let named = SET.get("GET", &text, join);
            assert_eq!(named.name, format!("GET {text}"));
            assert_eq!(named.text.as_str(), text);
        }
        let kept = SET
            .entries
            .read()
            .expect("not poisoned")
            .as_ref()
            .map_or(0, HashMap::len);
        assert_eq!(kept, 4);
        // The first four are interned, the rest are owned.
        assert!(matches!(
            SET.get("GET", "/route/0", join).name,
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            SET.get("GET", "/route/99", join).name,
            Cow::Owned(_)
        ));
    }

    #[test]
    fn recent_values_follow_changes() {
        let recent = RecentValue::new();
        assert_eq!(recent.get("a").as_str(), "a");
        assert_eq!(recent.get("b").as_str(), "b");
        assert_eq!(recent.get("a").as_str(), "a");
    }
}
