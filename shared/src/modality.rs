//! The DFPN modality bitfield (`Modalities`, a `u8` on chain): which kinds of analysis a request
//! needs or a worker/model supports.
//!
//! A filter `modalities=M` matches an entity whose bitfield contains every bit of `M`
//! (`value & M == M`, the programs' own "supports" rule). Bits 6 and 7 are unnamed but valid.

/// Image authenticity.
pub const IMAGE_AUTHENTICITY: u8 = 1 << 0;
/// Video authenticity.
pub const VIDEO_AUTHENTICITY: u8 = 1 << 1;
/// Audio authenticity.
pub const AUDIO_AUTHENTICITY: u8 = 1 << 2;
/// Face manipulation detection.
pub const FACE_MANIPULATION: u8 = 1 << 3;
/// Voice cloning detection.
pub const VOICE_CLONING: u8 = 1 << 4;
/// Generated-content detection.
pub const GENERATED_CONTENT: u8 = 1 << 5;

/// Every named bit with its snake_case name (the worker client's spelling), in bit order.
pub const NAMED_BITS: &[(u8, &str)] = &[
    (IMAGE_AUTHENTICITY, "image_authenticity"),
    (VIDEO_AUTHENTICITY, "video_authenticity"),
    (AUDIO_AUTHENTICITY, "audio_authenticity"),
    (FACE_MANIPULATION, "face_manipulation"),
    (VOICE_CLONING, "voice_cloning"),
    (GENERATED_CONTENT, "generated_content"),
];

/// The union of the named bits.
pub const NAMED: u8 = IMAGE_AUTHENTICITY
    | VIDEO_AUTHENTICITY
    | AUDIO_AUTHENTICITY
    | FACE_MANIPULATION
    | VOICE_CLONING
    | GENERATED_CONTENT;

/// Whether `value` supports every modality in `required`.
pub fn contains_all(value: u8, required: u8) -> bool {
    value & required == required
}

/// Parses a `modalities` parameter: an integer 0..=255, or comma-separated names as the DFPN
/// worker client sends them (`image_authenticity,face_manipulation`).
pub fn parse(value: &str) -> Result<u8, String> {
    if let Ok(bits) = value.parse::<u64>() {
        return u8::try_from(bits).map_err(|_| format!("`modalities` {bits} does not fit the 8-bit modality field"));
    }
    value.split(',').map(str::trim).try_fold(0u8, |bits, name| {
        NAMED_BITS.iter().find(|(_, known)| known.eq_ignore_ascii_case(name)).map(|(bit, _)| bits | bit).ok_or_else(
            || {
                let names: Vec<&str> = NAMED_BITS.iter().map(|(_, name)| *name).collect();
                format!("`modalities` must be an integer bitfield or names among {}; got {name:?}", names.join(", "))
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_decompose() {
        assert!(contains_all(41, IMAGE_AUTHENTICITY | FACE_MANIPULATION | GENERATED_CONTENT));
        assert!(contains_all(9, IMAGE_AUTHENTICITY | FACE_MANIPULATION));
        assert!(!contains_all(8, IMAGE_AUTHENTICITY | FACE_MANIPULATION));
        assert!(contains_all(0, 0));
    }

    #[test]
    fn parses_integers_and_the_worker_clients_names() {
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("image_authenticity,face_manipulation"), Ok(9));
        assert_eq!(parse("192"), Ok(192));
        assert!(parse("256").is_err());
        assert!(parse("image,face").is_err());
    }
}
