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
                let rendered = self.render_chat(messages, &opts)?;
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

    /// A conversation that ends with an assistant's text is continued (llama.cpp's "assistant prefill", what
    /// "Continue" on a reply cut at max tokens sends): the turns before it are rendered with the opening of an
    /// assistant turn and its text follows, unclosed, so the model writes on from its last token. Rendering the
    /// whole conversation and cutting after the text would depend on each template writing the text verbatim.
    fn render_chat(&self, messages: &[ChatMessage], opts: &RenderOptions) -> Result<String> {
        match messages.split_last() {
            Some((last, before)) if !before.is_empty() && is_prefill(last) => {
                let mut rendered = self.template.render(before, opts)?;
                rendered.push_str(&last.content);
                Ok(rendered)
            }
            _ => self.template.render(messages, opts),
        }
    }
}

/// An assistant turn with text and no tool calls: the start of the answer, to be continued.
pub(crate) fn is_prefill(message: &ChatMessage) -> bool {
    message.role == "assistant" && message.tool_calls.is_none() && !message.content.is_empty()
}
