//! AI generations into documents (`…/documents/{id}/generations`): streamed from a real
//! OpenAI-compatible mock server (npm `@dwmkerr/mock-llm`) into the document's room and landed
//! as one version; bad input, rights and tenancy.

mod faults;
mod input;
mod kit;
mod restart;
mod stream;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        input::trials(),
        stream::trials(),
        faults::trials(),
        restart::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
