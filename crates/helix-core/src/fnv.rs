//! 64-bit FNV-1a: a stable digest (the same in every process and build, as
//! std's hasher is not) for what is shared or compared across processes:
//! diagnosis fingerprints, cache keys, payment identities.

/// An FNV-1a state.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// The offset basis.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// The digest so far.
    pub fn finish(&self) -> u64 {
        self.0
    }

    /// The digest of `parts`, each ended by `separator` (so ["ab", "c"] and
    /// ["a", "bc"] differ).
    pub fn of_parts(parts: &[&[u8]], separator: u8) -> u64 {
        let mut h = Self::new();
        for p in parts {
            h.bytes(p).bytes(&[separator]);
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(Fnv1a::new().finish(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv1a::new().bytes(b"a").finish(), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            Fnv1a::new().bytes(b"foobar").finish(),
            0x8594_4171_f739_67e8
        );
        assert_ne!(
            Fnv1a::of_parts(&[b"ab", b"c"], 0),
            Fnv1a::of_parts(&[b"a", b"bc"], 0)
        );
    }
}
