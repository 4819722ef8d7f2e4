//! Jan's `prompt_template` (model.json `settings.prompt_template`), e.g. `"[INST] {prompt} [/INST]"` or
//! `"<|im_start|>system\n{system_message}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant"`.
//!
//! # How Jan used it
//! Jan's inference extension (`promptTemplateConverter` in the nitro / cortex extension) cut the template at its
//! markers into three strings that it sent to the engine:
//! - `system_prompt`: the text before `{system_message}`,
//! - `user_prompt`: the text between `{system_message}` and `{prompt}` (or, without `{system_message}`, the text
//!   before `{prompt}`),
//! - `ai_prompt`: the text after `{prompt}`,
//!
//! and failed to load the model when there was no `{prompt}`. The engine (nitro's, later cortex.llamacpp's
//! `llama_engine.cc`) then built the prompt from the messages: `user_prompt + content` for a user turn,
//! `ai_prompt + content` for an assistant turn, `system_prompt + content` put in front of everything for a system
//! message, and `ai_prompt` at the end; it added `<|im_end|>` and the right-trimmed `user_prompt` to the stop words.
//! For one system and one user message that is exactly the template with its markers replaced.
//!
//! # The rule implemented here
//! The same assembly, with the three cases where the engine's output was malformed made consistent with the
//! template:
//! 1. The head `system_prompt + system text` is always emitted when the template has `{system_message}`, with empty
//!    text when the chat has no system message (the engine then started the prompt with `user_prompt`, which for
//!    ChatML begins with a dangling `<|im_end|>`). Several system messages are joined by a blank line.
//! 2. When the template has no `{system_message}`, system text goes in front of the first user message, separated
//!    by a blank line (the engine used its own default prefix `"ASSISTANT's RULE: "`).
//! 3. Tool results and any other role are rendered as user turns (the engine prefixed them with the bare role
//!    name).
//!
//! Everything else is as Jan did it: the messages in order, `user_prompt + content` and `ai_prompt + content`, and
//! `ai_prompt` at the end unless no generation prompt is wanted. For the ChatML template above and the chat
//! [system S, user U1, assistant A1, user U2] that gives
//! `<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistantA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant`
//! (the missing newline after a past `assistant` is Jan's: the template has none there).
//!
//! The templates never contain a BOS token: llama.cpp added it while tokenizing, as the model's GGUF asks.

use crate::error::{Error, Result};
use crate::inference::types::ChatMessage;

const SYSTEM_MARKER: &str = "{system_message}";
const PROMPT_MARKER: &str = "{prompt}";

/// A parsed `prompt_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PromptTemplate {
    /// Text before `{system_message}`; `None` when the template has no system slot.
    system_prefix: Option<String>,
    /// Text before each user message (after the system message for the first one).
    user_prefix: String,
    /// Text before each assistant message and at the end of the prompt.
    ai_prefix: String,
}

impl PromptTemplate {
    /// Whether `template` is in Jan's marker format (it has a `{prompt}`).
    pub fn is_prompt_template(template: &str) -> bool {
        template.contains(PROMPT_MARKER)
    }

    pub fn parse(template: &str) -> Result<Self> {
        let Some(prompt_at) = template.find(PROMPT_MARKER) else {
            return Err(Error::InvalidRequest(format!(
                "prompt_template has no {PROMPT_MARKER} marker, so it cannot be split (\"{}\")",
                template.chars().take(80).collect::<String>()
            )));
        };
        let ai_prefix = template[prompt_at + PROMPT_MARKER.len()..].to_owned();
        match template.find(SYSTEM_MARKER) {
            Some(system_at) if system_at < prompt_at => Ok(PromptTemplate {
                system_prefix: Some(template[..system_at].to_owned()),
                user_prefix: template[system_at + SYSTEM_MARKER.len()..prompt_at].to_owned(),
                ai_prefix,
            }),
            Some(_) => {
                Err(Error::InvalidRequest(format!("prompt_template must have {SYSTEM_MARKER} before {PROMPT_MARKER}")))
            }
            None => {
                Ok(PromptTemplate { system_prefix: None, user_prefix: template[..prompt_at].to_owned(), ai_prefix })
            }
        }
    }

    /// The whole conversation as one prompt (see the module documentation for the rule).
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> String {
        let system: Vec<&str> = messages.iter().filter(|m| m.role == "system").map(|m| m.content.as_str()).collect();
        let system = system.join("\n\n");
        let mut out = String::new();
        let mut pending_system = match &self.system_prefix {
            Some(prefix) => {
                out.push_str(prefix);
                out.push_str(&system);
                None
            }
            None if system.is_empty() => None,
            None => Some(system),
        };
        for m in messages.iter().filter(|m| m.role != "system") {
            if m.role == "assistant" {
                out.push_str(&self.ai_prefix);
            } else {
                out.push_str(&self.user_prefix);
                if let Some(system) = pending_system.take() {
                    out.push_str(&system);
                    out.push_str("\n\n");
                }
            }
            out.push_str(&m.content);
        }
        if let Some(system) = pending_system {
            // A system message but no user turn: it becomes the user turn.
            out.push_str(&self.user_prefix);
            out.push_str(&system);
        }
        if add_generation_prompt {
            out.push_str(&self.ai_prefix);
        }
        out
    }

    /// The stop words Jan's engine added for these templates: `<|im_end|>` and the right-trimmed user prefix (so a
    /// model that starts writing the next user turn stops).
    pub fn stop_words(&self) -> Vec<String> {
        let mut stops = vec!["<|im_end|>".to_owned()];
        let user = self.user_prefix.trim_end();
        if !user.is_empty() && !stops.iter().any(|s| s == user) {
            stops.push(user.to_owned());
        }
        stops
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CHATML: &str =
        "<|im_start|>system\n{system_message}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant";

    fn m(role: &str, content: &str) -> ChatMessage {
        ChatMessage::new(role, content)
    }

    #[test]
    fn splits_like_jan() {
        let t = PromptTemplate::parse(CHATML).unwrap();
        assert_eq!(t.system_prefix.as_deref(), Some("<|im_start|>system\n"));
        assert_eq!(t.user_prefix, "<|im_end|>\n<|im_start|>user\n");
        assert_eq!(t.ai_prefix, "<|im_end|>\n<|im_start|>assistant");
        let t = PromptTemplate::parse("[INST] {prompt} [/INST]").unwrap();
        assert_eq!((t.system_prefix, t.user_prefix.as_str(), t.ai_prefix.as_str()), (None, "[INST] ", " [/INST]"));
    }

    #[test]
    fn single_turn_is_the_template_filled_in() {
        let t = PromptTemplate::parse(CHATML).unwrap();
        let out = t.render(&[m("system", "S"), m("user", "U")], true);
        assert_eq!(out, CHATML.replace("{system_message}", "S").replace("{prompt}", "U"));
    }

    #[test]
    fn rejects_templates_without_prompt() {
        assert_eq!(PromptTemplate::parse("no markers").unwrap_err().code(), "invalid_request");
        assert!(PromptTemplate::parse("{prompt} {system_message}").is_err());
    }

    #[test]
    fn stop_words() {
        let t = PromptTemplate::parse("[INST] {prompt} [/INST]").unwrap();
        assert_eq!(t.stop_words(), ["<|im_end|>", "[INST]"]);
        let t = PromptTemplate::parse(CHATML).unwrap();
        assert_eq!(t.stop_words(), ["<|im_end|>", "<|im_end|>\n<|im_start|>user"]);
    }
}
