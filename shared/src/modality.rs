//! The DFPN modality bitfield: which kinds of media a request needs or a worker/model supports.
//!
//! A filter `modalities=M` matches an entity whose bitfield contains every bit of `M`
//! (`value & M == M`), so `modalities=9` finds entities supporting both image and face analysis.

/// Still images.
pub const IMAGE: u32 = 1 << 0;
/// Video.
pub const VIDEO: u32 = 1 << 1;
/// Audio.
pub const AUDIO: u32 = 1 << 2;
/// Face manipulation detection.
pub const FACE: u32 = 1 << 3;
/// Text.
pub const TEXT: u32 = 1 << 4;
/// Voice cloning detection.
pub const VOICE: u32 = 1 << 5;

/// Every defined bit, with its name, in bit order.
pub const NAMED_BITS: &[(u32, &str)] =
    &[(IMAGE, "image"), (VIDEO, "video"), (AUDIO, "audio"), (FACE, "face"), (TEXT, "text"), (VOICE, "voice")];

/// The union of every defined bit.
pub const ALL: u32 = IMAGE | VIDEO | AUDIO | FACE | TEXT | VOICE;

/// Whether `value` supports every modality in `required`.
pub fn contains_all(value: u32, required: u32) -> bool {
    value & required == required
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_decompose() {
        assert!(contains_all(41, IMAGE | FACE | VOICE));
        assert!(contains_all(9, IMAGE | FACE));
        assert!(!contains_all(8, IMAGE | FACE));
        assert!(contains_all(0, 0));
    }
}
