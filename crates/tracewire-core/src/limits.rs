//! Bounds on what tracewire records from the wire.
//!
//! Every string a boundary crate copies from a request, a header, a query or a message onto a span goes
//! through [`Limits::bound`], so an outside caller cannot grow span data without limit.
//!
//! ```
//! use tracewire_core::limits::Limits;
//! let limits = Limits::default().with_max_value_len(4);
//! assert_eq!(limits.bound("héllo"), "hél"); // cut on a char boundary, never inside 'é'
//! ```

/// Length limits applied to recorded values.
///
/// ```
/// let limits = tracewire_core::limits::Limits::default();
/// assert_eq!(limits.max_value_len(), 2048);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_value_len: usize,
    max_header_values: usize,
}

impl Default for Limits {
    /// 2,048 bytes per value and 16 values per captured header.
    fn default() -> Self {
        Limits {
            max_value_len: 2048,
            max_header_values: 16,
        }
    }
}

impl Limits {
    /// Sets the longest string value recorded, in bytes (cut on a char boundary).
    ///
    /// ```
    /// let limits = tracewire_core::limits::Limits::default().with_max_value_len(3);
    /// assert_eq!(limits.bound("abcdef"), "abc");
    /// ```
    pub fn with_max_value_len(mut self, bytes: usize) -> Self {
        self.max_value_len = bytes;
        self
    }

    /// Sets how many values of one captured header are recorded.
    ///
    /// ```
    /// let limits = tracewire_core::limits::Limits::default().with_max_header_values(4);
    /// assert_eq!(limits.max_header_values(), 4);
    /// ```
    pub fn with_max_header_values(mut self, count: usize) -> Self {
        self.max_header_values = count;
        self
    }

    /// The longest string value recorded, in bytes.
    ///
    /// ```
    /// use tracewire_core::limits::Limits;
    /// assert_eq!(Limits::default().max_value_len(), 2048);
    /// assert_eq!(Limits::default().with_max_value_len(64).max_value_len(), 64);
    /// ```
    pub fn max_value_len(&self) -> usize {
        self.max_value_len
    }

    /// How many values of one captured header are recorded.
    ///
    /// ```
    /// use tracewire_core::limits::Limits;
    /// assert_eq!(Limits::default().max_header_values(), 16);
    /// ```
    pub fn max_header_values(&self) -> usize {
        self.max_header_values
    }

    /// `value` cut to [`max_value_len`](Self::max_value_len) bytes on a char boundary.
    ///
    /// ```
    /// let limits = tracewire_core::limits::Limits::default().with_max_value_len(2);
    /// assert_eq!(limits.bound("abc"), "ab");
    /// assert_eq!(limits.bound("é!"), "é"); // 'é' is two bytes
    /// assert_eq!(limits.bound("€"), ""); // three bytes: nothing fits
    /// ```
    pub fn bound<'a>(&self, value: &'a str) -> &'a str {
        truncate(value, self.max_value_len)
    }
}

/// `value` cut to at most `max` bytes, on a char boundary.
///
/// ```
/// assert_eq!(tracewire_core::limits::truncate("abc", 2), "ab");
/// assert_eq!(tracewire_core::limits::truncate("€", 2), "");
/// ```
pub fn truncate(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("hello", 3), "hel");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
        assert_eq!(truncate("", 0), "");
        assert_eq!(truncate("x", 0), "");
    }
}
