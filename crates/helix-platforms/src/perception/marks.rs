//! Where the one phrase scan saw the markers the structured readers look
//! for: `0x` (revert data, a selector), `/problems/` (an MPP problem type),
//! `(` (a chain error named in words) and `_` (a snake_case identifier
//! such as an x402 reason). A reader whose marker is absent makes no pass
//! of its own over the message, and one whose marker is present starts at
//! its first occurrence.

/// The markers, in the order of their slots among the scan's keys.
pub(crate) const MARKERS: [&str; 4] = ["0x", "/problems/", "(", "_"];

/// A marker the structured readers look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `0x`: hex data.
    Hex,
    /// `/problems/`: a problem type's path.
    Problem,
    /// `(`: `Name(` of a named error.
    Paren,
    /// `_`: a snake_case identifier.
    Snake,
}

/// Where each marker first occurs in a message, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks([Option<usize>; 4]);

impl Marks {
    /// Nothing is known: every reader searches the whole message (a
    /// message the scan could not place positions in, or a caller that did
    /// not scan).
    pub const EVERYWHERE: Marks = Marks([Some(0); 4]);

    /// No marker occurs (an empty message).
    pub const NONE: Marks = Marks([None; 4]);

    pub(crate) fn new(first: [Option<usize>; 4]) -> Self {
        Marks(first)
    }

    /// Where a reader for `m` starts (the marker's first byte), or `None`
    /// when the message does not hold it.
    pub fn from(&self, m: Mark) -> Option<usize> {
        self.0[m as usize]
    }
}

#[cfg(test)]
mod tests {
    use helix_core::ErrorSignal;

    use super::*;
    use crate::perception::testutil::{C, generated_texts};

    /// Every structured reader of every platform gives the same verdict
    /// with the scan's marks as with a search of the whole message, on
    /// texts that put the markers (in both cases) everywhere, next to the
    /// structure the readers look for.
    #[test]
    fn the_marks_change_no_verdict() {
        let pieces = [
            "0x",
            "0X",
            "x",
            "0",
            "54cfe659",
            "832f98b5",
            &"0".repeat(64),
            "(",
            "PolicyForbids(",
            "InsufficientBalance(",
            "_",
            "invalid_exact_evm_payload_signature",
            "insufficient_funds",
            "duplicate_settlement",
            "/problems/",
            "https://paymentauth.org/problems/",
            "payment-insufficient",
            "verification-failed",
            "x402",
            " ",
            "é",
            "fee",
        ];
        let mut marked = 0;
        for text in generated_texts(&pieces, 6_000, 160, 0xD1B5_4A32_D192_ED03) {
            let s = ErrorSignal::message(text.clone());
            let scan = C.rules().scan_all(&text);
            let marks = scan.marks(&text);
            marked += usize::from(marks != Marks::NONE);
            for t in crate::TABLES {
                assert_eq!(
                    (t.structured)(&s, &marks),
                    (t.structured)(&s, &Marks::EVERYWHERE),
                    "{:?} structured on {text:?}",
                    t.platform
                );
                assert_eq!(
                    (t.fallback)(&s, &marks),
                    (t.fallback)(&s, &Marks::EVERYWHERE),
                    "{:?} fallback on {text:?}",
                    t.platform
                );
            }
        }
        assert!(marked > 3_000, "the texts hold markers: {marked}");
    }

    #[test]
    fn a_marker_is_placed_at_its_first_occurrence() {
        let text = "call (a) 0X12 (b) snake_case /problems/x 0x";
        let m = C.rules().scan_all(text).marks(text);
        assert_eq!(m.from(Mark::Paren), Some(5));
        assert_eq!(m.from(Mark::Hex), Some(9));
        assert_eq!(m.from(Mark::Snake), Some(23));
        assert_eq!(m.from(Mark::Problem), Some(29));
        let none = "nothing marked here";
        assert_eq!(C.rules().scan_all(none).marks(none), Marks::NONE);
    }
}
