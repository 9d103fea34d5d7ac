//! A model's tool call, whatever its name and argument text, reads as a call or a malformed one.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let (name, arguments) = text.split_once('\n').unwrap_or(("get_user_recommendations", &text));
    let call = interarec_llm::chat::ToolCallRequest {
        id: "call-0".into(),
        name: name.into(),
        arguments: arguments.into(),
    };
    let _ = interarec_agent::openai::read_call(&call);
    let _ = interarec_agent::openai::calls_in_text(&text, &["get_user_recommendations", "validate"]);
});
