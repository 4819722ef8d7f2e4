//! Chat templates: how a conversation becomes the one prompt string a local model continues.
//!
//! Three sources, in this order of precedence ([`ChatTemplate::select`]):
//! 1. Jan's `prompt_template` from the model's model.json (`"[INST] {prompt} [/INST]"`), rendered for a whole
//!    conversation as Jan's engine did (see [`ChatTemplate::from_prompt_template`]). A value with Jinja tags and no
//!    `{prompt}` is taken as a Jinja template.
//! 2. The GGUF's `tokenizer.chat_template`, a Jinja template rendered as Hugging Face's `apply_chat_template`
//!    renders it: the same variables, `tojson`, `raise_exception` and `strftime_now`, and Jinja2's behaviour where
//!    minijinja's defaults differ (see [`ChatTemplate::from_jinja`]).
//! 3. A built-in format for the model's family ([`Family::detect`]), for models without a template.
//!
//! # Begin-of-sequence token
//! Many Jinja templates print `bos_token` themselves, and the tokenizer also adds BOS when the GGUF says so
//! (`tokenizer.ggml.add_bos_token`). llama.cpp's server renders the template with the real BOS text and, when the
//! vocabulary adds BOS, strips that text from the start of the rendered prompt before tokenizing with special-token
//! parsing (`common/chat.cpp`, `apply()`: "To avoid double BOS / EOS tokens, we're manually removing beginning /
//! trailing tokens"; it strips a trailing EOS the same way when the vocabulary adds EOS). Do the same:
//! tokenize [`ChatTemplate::strip_bos`]`(prompt)` when the tokenizer will add BOS, or equivalently skip the
//! tokenizer's BOS when [`ChatTemplate::starts_with_bos`] is true. Jan prompt templates never contain BOS.

mod family;
mod jan;
mod jinja;
mod pyjson;
mod strftime;

pub use family::Family;

use crate::error::{Error, Result};
use crate::inference::types::ChatMessage;

/// How to render a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// End with the opening of an assistant turn, so the model writes the answer. Default true.
    pub add_generation_prompt: bool,
    /// OpenAI tool definitions, passed to Jinja templates as `tools` (`none` when absent or empty). Jan prompt
    /// templates have no place for them.
    pub tools: Option<serde_json::Value>,
    /// Extra template variables (transformers' `**kwargs`, llama.cpp's `chat_template_kwargs`), e.g.
    /// `enable_thinking` or `date_string`. They may override `bos_token` / `eos_token` but not `messages`, `tools`
    /// or `add_generation_prompt`.
    pub kwargs: serde_json::Map<String, serde_json::Value>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { add_generation_prompt: true, tools: None, kwargs: serde_json::Map::new() }
    }
}

/// Where a [`ChatTemplate`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSource {
    /// model.json `settings.prompt_template`.
    PromptTemplate,
    /// The GGUF's `tokenizer.chat_template`.
    Gguf,
    /// The built-in format of a model family.
    Family(Family),
}

/// What a Jinja template was found to handle, by rendering small probe conversations when it was compiled (the
/// way llama.cpp's minja learns a template's capabilities). Rendering adapts the messages to what is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// A system message's text appears in the output. When false (the template drops it or raises, as Gemma 2's
    /// does), system text is put in front of the first user message, separated by a blank line.
    pub system_role: bool,
    /// Tool definitions passed as `tools` appear in the output.
    pub tools: bool,
    /// An assistant message's `tool_calls` appear in the output.
    pub tool_calls: bool,
    /// Tool-call arguments only print properly as an object (`tool_call.arguments | tojson`): arguments sent as a
    /// JSON string, as OpenAI clients send them, are parsed into an object before rendering.
    pub object_arguments: bool,
}

fn non_blank(t: Option<&str>) -> Option<&str> {
    t.filter(|t| !t.trim().is_empty())
}

#[derive(Debug, Clone)]
enum Kind {
    Jinja(jinja::JinjaTemplate),
    Jan(jan::PromptTemplate),
}

/// A compiled chat template: built once per model, rendered for every request. Cheap to share (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    kind: Kind,
    source: TemplateSource,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// Picks and compiles the template for a model: `prompt_template` (model.json) wins, then the GGUF's
    /// template, then the format of the model's family (by `bos` / `eos` and `architecture`, see
    /// [`Family::detect`]; a caller holding the whole vocabulary can detect the family with it instead and use
    /// [`ChatTemplate::for_family`]). Blank strings count as absent. A template that does not compile is an error,
    /// not a silent fallback to another format.
    pub fn select(
        prompt_template: Option<&str>,
        gguf_template: Option<&str>,
        architecture: &str,
        bos: &str,
        eos: &str,
    ) -> Result<ChatTemplate> {
        if let Some(t) = non_blank(prompt_template) {
            return ChatTemplate::from_prompt_template(t, bos, eos);
        }
        if let Some(t) = non_blank(gguf_template) {
            return ChatTemplate::from_jinja(t, bos, eos).map_err(|e| {
                Error::InvalidRequest(format!(
                    "the model's chat template cannot be used ({e}); set settings.prompt_template in its model.json"
                ))
            });
        }
        let family = Family::detect(architecture, |t| t == bos || t == eos);
        ChatTemplate::for_family(family, bos, eos)
    }

    /// Compiles a Jinja chat template (reported as [`TemplateSource::Gguf`]). A syntax error is
    /// [`Error::InvalidRequest`] with minijinja's description and the line.
    ///
    /// Rendering follows transformers' `apply_chat_template`: a sandboxed Jinja2 environment with `trim_blocks`,
    /// `lstrip_blocks` and loop controls; the variables `messages` (`role`, `content`, and `tool_calls`,
    /// `tool_call_id`, `name` when present), `tools` (`none` when absent), `add_generation_prompt`, `bos_token`,
    /// `eos_token` and [`RenderOptions::kwargs`]; `raise_exception(msg)`, `strftime_now(format)` (UTC) and
    /// transformers' `tojson` (Python's `json.dumps` with `ensure_ascii=False`). Where minijinja's defaults differ
    /// from Jinja2's and templates notice, Jinja2's behaviour is kept: `tojson` output, printing values as Python's
    /// `str()`, `trim`, the `sequence` test on strings, Python's string and dict methods, `{% generation %}` blocks.
    /// Undefined values print as nothing, as in Jinja2. Then the messages are adapted to what probing found
    /// missing (see [`Capabilities`]).
    pub fn from_jinja(source: &str, bos: &str, eos: &str) -> Result<ChatTemplate> {
        Ok(ChatTemplate {
            kind: Kind::Jinja(jinja::JinjaTemplate::new(source, bos, eos)?),
            source: TemplateSource::Gguf,
            bos: bos.to_owned(),
            eos: eos.to_owned(),
        })
    }

    /// Parses Jan's `prompt_template`; a value with Jinja tags and no `{prompt}` is compiled as Jinja instead.
    ///
    /// Jan's inference extension (`promptTemplateConverter`) cut the template into `system_prompt` (the text before
    /// `{system_message}`), `user_prompt` (between `{system_message}` and `{prompt}`, or before `{prompt}`) and
    /// `ai_prompt` (after `{prompt}`), refusing templates without `{prompt}`; its engine (nitro, later
    /// cortex.llamacpp's `llama_engine.cc`) then built the prompt as `user_prompt + content` per user message,
    /// `ai_prompt + content` per assistant message, `system_prompt + content` in front of everything for a system
    /// message, and `ai_prompt` at the end. This does the same, except where that gave malformed prompts:
    /// - with `{system_message}` in the template, the head `system_prompt + system text` is always emitted, with
    ///   empty text when the chat has no system message (Jan's engine then began with `user_prompt`, for ChatML a
    ///   dangling `<|im_end|>`); several system messages are joined by a blank line;
    /// - without `{system_message}`, system text goes in front of the first user message, followed by a blank line
    ///   (the engine used a default `"ASSISTANT's RULE: "` prefix);
    /// - tool results and other roles are user turns (the engine prefixed them with the bare role name);
    /// - the final `ai_prompt` is left out when `add_generation_prompt` is false.
    ///
    /// So one system and one user message give exactly the template with its markers replaced, and
    /// `<|im_start|>system\n{system_message}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant`
    /// renders [system S, user U1, assistant A1, user U2] as
    /// `<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistantA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant`.
    /// Tools are not shown to the model. [`ChatTemplate::stop_words`] gives the stop strings Jan's engine added.
    pub fn from_prompt_template(template: &str, bos: &str, eos: &str) -> Result<ChatTemplate> {
        let looks_like_jinja = template.contains("{{") || template.contains("{%");
        let kind = if !jan::PromptTemplate::is_prompt_template(template) && looks_like_jinja {
            Kind::Jinja(jinja::JinjaTemplate::new(template, bos, eos)?)
        } else {
            Kind::Jan(jan::PromptTemplate::parse(template)?)
        };
        Ok(ChatTemplate { kind, source: TemplateSource::PromptTemplate, bos: bos.to_owned(), eos: eos.to_owned() })
    }

    /// The built-in format of `family`.
    pub fn for_family(family: Family, bos: &str, eos: &str) -> Result<ChatTemplate> {
        Ok(ChatTemplate {
            kind: Kind::Jinja(jinja::JinjaTemplate::new(family.jinja_source(), bos, eos)?),
            source: TemplateSource::Family(family),
            bos: bos.to_owned(),
            eos: eos.to_owned(),
        })
    }

    /// The conversation as one prompt. A template's `raise_exception(msg)` (e.g. "Conversation roles must
    /// alternate user/assistant/user/assistant/...") is [`Error::InvalidRequest`] with that message.
    pub fn render(&self, messages: &[ChatMessage], opts: &RenderOptions) -> Result<String> {
        match &self.kind {
            Kind::Jinja(t) => t.render(messages, opts, &self.bos, &self.eos),
            Kind::Jan(t) => Ok(t.render(messages, opts.add_generation_prompt)),
        }
    }

    pub fn source(&self) -> TemplateSource {
        self.source
    }

    /// What probing found the template handles. Jan prompt templates handle system messages and nothing of tools.
    pub fn capabilities(&self) -> Capabilities {
        match &self.kind {
            Kind::Jinja(t) => t.capabilities(),
            Kind::Jan(_) => Capabilities { system_role: true, ..Capabilities::default() },
        }
    }

    /// The BOS text given to the template as `bos_token`.
    pub fn bos_token(&self) -> &str {
        &self.bos
    }

    /// The EOS text given to the template as `eos_token`.
    pub fn eos_token(&self) -> &str {
        &self.eos
    }

    /// Whether `rendered` already starts with the BOS text (so the tokenizer must not add another).
    pub fn starts_with_bos(&self, rendered: &str) -> bool {
        !self.bos.is_empty() && rendered.starts_with(&self.bos)
    }

    /// `rendered` without a leading BOS text: what to tokenize when the tokenizer adds BOS itself (llama.cpp's
    /// rule, see the module documentation).
    pub fn strip_bos<'a>(&self, rendered: &'a str) -> &'a str {
        if self.bos.is_empty() { rendered } else { rendered.strip_prefix(self.bos.as_str()).unwrap_or(rendered) }
    }

    /// Extra stop strings the format needs: for Jan prompt templates the ones Jan's engine added (`<|im_end|>` and
    /// the right-trimmed text before a user message); none for Jinja templates, whose turns end with EOS/EOT tokens.
    pub fn stop_words(&self) -> Vec<String> {
        match &self.kind {
            Kind::Jinja(_) => Vec::new(),
            Kind::Jan(t) => t.stop_words(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn m(role: &str, content: &str) -> ChatMessage {
        ChatMessage::new(role, content)
    }

    fn chat() -> Vec<ChatMessage> {
        vec![m("system", "Be brief."), m("user", "Hi"), m("assistant", "Hello!"), m("user", "Why?")]
    }

    #[test]
    fn is_send_sync_and_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<ChatTemplate>();
    }

    #[test]
    fn selection_precedence() {
        let gguf = "{% for m in messages %}{{ m.content }}{% endfor %}";
        let t = ChatTemplate::select(Some("[INST] {prompt} [/INST]"), Some(gguf), "llama", "<s>", "</s>").unwrap();
        assert_eq!(t.source(), TemplateSource::PromptTemplate);
        let t = ChatTemplate::select(Some("  "), Some(gguf), "llama", "<s>", "</s>").unwrap();
        assert_eq!(t.source(), TemplateSource::Gguf);
        let t = ChatTemplate::select(None, Some(""), "gemma3", "<bos>", "<eos>").unwrap();
        assert_eq!(t.source(), TemplateSource::Family(Family::Gemma));
        let err = ChatTemplate::select(None, Some("{% if %}"), "llama", "<s>", "</s>").unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains("prompt_template"), "{err}");
    }

    #[test]
    fn jinja_prompt_template_is_compiled_as_jinja() {
        let t =
            ChatTemplate::from_prompt_template("{% for m in messages %}<{{ m.content }}>{% endfor %}", "", "").unwrap();
        assert_eq!(t.render(&[m("user", "x")], &RenderOptions::default()).unwrap(), "<x>");
    }

    #[test]
    fn family_detection() {
        let tokens = |list: &'static [&'static str]| move |t: &str| list.contains(&t);
        assert_eq!(Family::detect("llama", tokens(&["<|begin_of_text|>", "<|eot_id|>"])), Family::Llama3);
        assert_eq!(Family::detect("llama", tokens(&["<s>", "</s>"])), Family::Llama2);
        assert_eq!(Family::detect("mistral", tokens(&["[INST]"])), Family::Llama2);
        assert_eq!(Family::detect("gemma3", tokens(&["<bos>", "<eos>"])), Family::Gemma);
        assert_eq!(Family::detect("llama", tokens(&["<start_of_turn>"])), Family::Gemma);
        assert_eq!(Family::detect("qwen2", tokens(&["<|endoftext|>"])), Family::ChatMl);
        assert_eq!(Family::detect("phi3", tokens(&["<|im_end|>"])), Family::ChatMl);
        assert_eq!(Family::detect("rwkv6", tokens(&[])), Family::ChatMl);
    }

    #[test]
    fn family_gemma() {
        let t = ChatTemplate::for_family(Family::Gemma, "<bos>", "<eos>").unwrap();
        let out = t.render(&chat(), &RenderOptions::default()).unwrap();
        assert_eq!(
            out,
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n\
             <start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n"
        );
        assert!(t.starts_with_bos(&out));
        assert!(t.strip_bos(&out).starts_with("<start_of_turn>"));
        let caps = t.capabilities();
        assert!(caps.system_role && !caps.tools);
        // A lone system message still reaches the model.
        let out = t.render(&[m("system", "S")], &RenderOptions::default()).unwrap();
        assert_eq!(out, "<bos><start_of_turn>user\nS<end_of_turn>\n<start_of_turn>model\n");
    }

    #[test]
    fn family_chatml() {
        let t = ChatTemplate::for_family(Family::ChatMl, "", "<|im_end|>").unwrap();
        let opts = RenderOptions { add_generation_prompt: false, ..RenderOptions::default() };
        let out = t.render(&chat()[..2], &opts).unwrap();
        assert_eq!(out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
        assert!(!t.starts_with_bos(&out));
    }

    #[test]
    fn family_llama3() {
        let t = ChatTemplate::for_family(Family::Llama3, "<|begin_of_text|>", "<|eot_id|>").unwrap();
        let out = t.render(&chat()[..2], &RenderOptions::default()).unwrap();
        assert_eq!(
            out,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn family_llama2() {
        let t = ChatTemplate::for_family(Family::Llama2, "<s>", "</s>").unwrap();
        let out = t.render(&chat(), &RenderOptions::default()).unwrap();
        assert_eq!(out, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Why? [/INST]");
        let out = t.render(&[m("user", "Hi")], &RenderOptions::default()).unwrap();
        assert_eq!(out, "<s>[INST] Hi [/INST]");
    }

    #[test]
    fn jan_prompt_template_multi_turn() {
        let chatml = "<|im_start|>system\n{system_message}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant";
        let t = ChatTemplate::select(Some(chatml), None, "qwen2", "", "").unwrap();
        assert_eq!(
            t.render(&chat(), &RenderOptions::default()).unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistantHello!\
             <|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant"
        );
        // Without a system message the head is the template's, with empty system text.
        assert_eq!(
            t.render(&chat()[1..2], &RenderOptions::default()).unwrap(),
            "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant"
        );
        assert_eq!(t.capabilities(), Capabilities { system_role: true, ..Capabilities::default() });
        assert!(!t.starts_with_bos("<|im_start|>"));

        // No system slot: system text leads the first user message; tool results are user turns.
        let t = ChatTemplate::select(Some("[INST] {prompt} [/INST]"), None, "llama", "<s>", "</s>").unwrap();
        let mut msgs = chat();
        msgs.push(m("assistant", "Because."));
        msgs.push(m("tool", "42"));
        let opts = RenderOptions { add_generation_prompt: false, ..RenderOptions::default() };
        assert_eq!(
            t.render(&msgs, &opts).unwrap(),
            "[INST] Be brief.\n\nHi [/INST]Hello![INST] Why? [/INST]Because.[INST] 42"
        );
        assert_eq!(t.stop_words(), ["<|im_end|>", "[INST]"]);
    }
}
