/// The source of randomness for ids, tokens and secrets.
pub trait Rng: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl Rng for OsRng {
    #[allow(clippy::disallowed_methods)] // the one drawer of OS randomness
    fn fill(&self, buf: &mut [u8]) {
        // getrandom fails only when the OS has no entropy source at all;
        // continuing with zeros would be a silent disaster, so stop.
        #[allow(clippy::panic)]
        if getrandom::fill(buf).is_err() {
            panic!("the operating system's random number generator failed");
        }
    }
}
