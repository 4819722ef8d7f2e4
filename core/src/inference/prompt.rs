//! A loaded model's prompt side: its chat template and tokenizer, and the context it was loaded with. Requests are
//! rendered and tokenized here, on tokio's blocking pool before they are queued, so a prompt that cannot run
//! (over the context, a template error) is refused before a host has answered anything, and the engine thread
//! spends its time on forward passes only.

use std::sync::Arc;

use serde_json::Value;

use super::template::{ChatTemplate, RenderOptions};
use super::tokenizer::Tokenizer;
use super::types::ChatMessage;
use crate::error::{Error, Result};

/// What to generate from.
#[derive(Debug, Clone)]
pub(crate) enum Prompt {
    Chat { messages: Vec<ChatMessage>, tools: Option<Value> },
    Text(String),
}

impl Prompt {
    /// The request's tools, for the tool-call parser.
    pub fn tools(&self) -> Option<&Value> {
        match self {
            Prompt::Chat { tools, .. } => tools.as_ref(),
            Prompt::Text(_) => None,
        }
    }
}

/// Renders and tokenizes prompts for one loaded model; shared by its engine and the requests being prepared.
#[derive(Debug)]
pub(crate) struct Prompter {
    pub tokenizer: Arc<Tokenizer>,
    pub template: ChatTemplate,
    /// The context the model's KV caches hold.
    pub context: usize,
}

impl Prompter {
    /// The prompt's tokens, checked to fit the context with room for at least one new token.
    pub fn tokens(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        let tok = &self.tokenizer;
        let tokens = match prompt {
            Prompt::Text(text) => tok.encode(text, true, false),
            Prompt::Chat { messages, tools } => {
                let opts = RenderOptions { tools: tools.clone(), ..Default::default() };
                let rendered = self.template.render(messages, &opts)?;
                // A template that writes BOS itself must not get a second one from the tokenizer.
                if tok.add_bos() && self.template.starts_with_bos(&rendered) {
                    tok.encode(self.template.strip_bos(&rendered), true, true)
                } else {
                    tok.encode(&rendered, true, true)
                }
            }
        };
        if tokens.is_empty() {
            return Err(Error::InvalidRequest("the prompt is empty".into()));
        }
        if tokens.len() >= self.context {
            return Err(Error::ContextLengthExceeded { prompt_tokens: tokens.len(), context: self.context });
        }
        Ok(tokens)
    }
}
