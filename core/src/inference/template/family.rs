//! Chat formats for models whose GGUF carries no chat template (base models, and GGUFs converted before
//! `tokenizer.chat_template` existed), chosen by the model's special tokens and architecture.

/// A well-known chat format, used when a model brings no template of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `<|im_start|>role\n...<|im_end|>\n` (Qwen, Yi, Hermes, and llama.cpp's fallback for unknown models).
    ChatMl,
    /// `<start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n` (Gemma 1-3); system text goes in front of
    /// the first user turn.
    Gemma,
    /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>` (Llama 3.x).
    Llama3,
    /// `<s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>` (Llama 2 chat; Mistral 7B v0.1/v0.2 read it
    /// well enough).
    Llama2,
}

impl Family {
    /// Picks the format for a model without a chat template:
    ///
    /// 1. the vocabulary's special tokens, which name the format unambiguously: `<|start_header_id|>`,
    ///    `<|eot_id|>` or `<|begin_of_text|>` -> Llama 3; `<start_of_turn>` or `<end_of_turn>` -> Gemma;
    ///    `<|im_start|>` or `<|im_end|>` -> ChatML; `[INST]` (a control token in Mistral's v3 vocabularies) ->
    ///    Llama 2;
    /// 2. else `general.architecture`: `gemma*` -> Gemma, `qwen*` -> ChatML, `llama` / `mistral` -> Llama 2 (the
    ///    `llama` architecture also holds Llama 3, which step 1 has already recognised by its tokens);
    /// 3. else ChatML, as llama.cpp does for a model without a template.
    ///
    /// `has_token` says whether the vocabulary has a token with exactly this text.
    pub fn detect(architecture: &str, has_token: impl Fn(&str) -> bool) -> Family {
        let any = |tokens: &[&str]| tokens.iter().any(|t| has_token(t));
        if any(&["<|start_header_id|>", "<|eot_id|>", "<|begin_of_text|>"]) {
            return Family::Llama3;
        }
        if any(&["<start_of_turn>", "<end_of_turn>"]) {
            return Family::Gemma;
        }
        if any(&["<|im_start|>", "<|im_end|>"]) {
            return Family::ChatMl;
        }
        if any(&["[INST]"]) {
            return Family::Llama2;
        }
        let arch = architecture.to_ascii_lowercase();
        if arch.starts_with("gemma") {
            Family::Gemma
        } else if arch.starts_with("qwen") {
            Family::ChatMl
        } else if arch == "llama" || arch == "mistral" {
            Family::Llama2
        } else {
            Family::ChatMl
        }
    }

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Family::ChatMl => "chatml",
            Family::Gemma => "gemma",
            Family::Llama3 => "llama3",
            Family::Llama2 => "llama2",
        }
    }

    /// The format as a Jinja chat template (rendered like any model's own template).
    pub(crate) fn jinja_source(self) -> &'static str {
        match self {
            Family::ChatMl => CHATML,
            Family::Gemma => GEMMA,
            Family::Llama3 => LLAMA3,
            Family::Llama2 => LLAMA2,
        }
    }
}

const CHATML: &str = "\
{%- for message in messages %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\\n' }}
{%- endif %}";

/// Gemma has two roles, `user` and `model`: system text leads the next user turn (joined by a blank line, as
/// Gemma 3's own template does), tool results are user turns, and turns are trimmed.
const GEMMA: &str = "\
{{- bos_token }}
{%- set ns = namespace(prefix='') %}
{%- for message in messages %}
{%- if message.role == 'system' %}
{%- set ns.prefix = ns.prefix + message.content + '\\n\\n' %}
{%- elif message.role == 'assistant' %}
{{- '<start_of_turn>model\\n' + message.content | trim + '<end_of_turn>\\n' }}
{%- else %}
{{- '<start_of_turn>user\\n' + ns.prefix + message.content | trim + '<end_of_turn>\\n' }}
{%- set ns.prefix = '' %}
{%- endif %}
{%- endfor %}
{%- if ns.prefix %}
{{- '<start_of_turn>user\\n' + ns.prefix | trim + '<end_of_turn>\\n' }}
{%- endif %}
{%- if add_generation_prompt %}
{{- '<start_of_turn>model\\n' }}
{%- endif %}";

/// Llama 3's basic format (the 3.0 release template); tool results use Llama 3.1's `ipython` role.
const LLAMA3: &str = "\
{{- bos_token }}
{%- for message in messages %}
{%- set role = 'ipython' if message.role == 'tool' else message.role %}
{{- '<|start_header_id|>' + role + '<|end_header_id|>\\n\\n' + message.content | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}";

/// Llama 2 chat: every user turn opens with BOS and `[INST]`, the first one carries the system text in `<<SYS>>`,
/// every answer closes with EOS. Tool results are user turns.
const LLAMA2: &str = "\
{%- set ns = namespace(system='', first=true) %}
{%- for message in messages if message.role == 'system' %}
{%- set ns.system = ns.system + ('\\n\\n' if ns.system else '') + message.content | trim %}
{%- endfor %}
{%- for message in messages if message.role != 'system' %}
{%- if message.role == 'assistant' %}
{{- ' ' + message.content | trim + ' ' + eos_token }}
{%- else %}
{{- bos_token + '[INST] ' }}
{%- if ns.first and ns.system %}
{{- '<<SYS>>\\n' + ns.system + '\\n<</SYS>>\\n\\n' }}
{%- endif %}
{%- set ns.first = false %}
{{- message.content | trim + ' [/INST]' }}
{%- endif %}
{%- endfor %}";
