//! Threads and messages: CRUD, ordering, the pending -> final life of a reply, events, and durability under
//! concurrency and crashes.

use std::collections::HashSet;
use std::io::Write;

use crate::common::{events_until, open_temp};
use jan_core::Event;
use jan_core::threads::{MessageStatus, MessageUpdate, NewMessage, NewThread, Role, ThreadModel, ThreadUpdate};

#[tokio::test]
async fn create_list_get_rename_delete() {
    let (dir, jan) = open_temp().await;
    let threads = jan.threads();

    let a = threads.create(NewThread::default()).await.unwrap();
    assert!(a.id.starts_with("jan_"), "desktop-style id: {}", a.id);
    assert_eq!(a.title, "New Thread");
    let entry = a.assistant().unwrap();
    assert_eq!((entry.assistant_id.as_str(), entry.assistant_name.as_deref()), ("jan", Some("Jan")));
    assert_eq!(entry.instructions.as_deref(), Some("Your name is Jan."));
    assert!(dir.path().join("threads").join(&a.id).join("thread.json").is_file());

    let b = threads.create(NewThread { title: Some("Second".into()), ..Default::default() }).await.unwrap();
    assert_ne!(a.id, b.id, "two threads in the same second get distinct ids");
    let ids: Vec<_> = threads.list().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![b.id.clone(), a.id.clone()], "most recently updated first");

    // A message makes the older thread the most recent one.
    threads.add_message(&a.id, NewMessage::text(Role::User, "hi")).await.unwrap();
    let ids: Vec<_> = threads.list().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![a.id.clone(), b.id.clone()]);

    let renamed = threads.rename(&b.id, "  Physics jokes ").await.unwrap();
    assert_eq!(renamed.title, "Physics jokes");
    assert_eq!(renamed.metadata.as_ref().unwrap()["title"], "Physics jokes");
    assert_eq!(threads.get(&b.id).await.unwrap().title, "Physics jokes");

    threads.delete(&b.id).await.unwrap();
    assert_eq!(threads.get(&b.id).await.unwrap_err().code(), "not_found");
    assert_eq!(threads.delete(&b.id).await.unwrap_err().code(), "not_found");
    assert!(!dir.path().join("threads").join(&b.id).exists());
    assert_eq!(threads.list().await.unwrap().len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("threads")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no half-deleted folder left behind");
}

#[tokio::test]
async fn update_settings_and_reject_bad_titles() {
    let (_dir, jan) = open_temp().await;
    let threads = jan.threads();
    let t = threads.create(NewThread::default()).await.unwrap();
    let model: ThreadModel = serde_json::from_value(serde_json::json!({
        "id": "qwen", "settings": {"ctx_len": 1024}, "parameters": {"temperature": 0.2, "stop": ["END"]}, "engine": "nitro"
    }))
    .unwrap();
    let updated = threads
        .update(
            &t.id,
            ThreadUpdate {
                model: Some(model.clone()),
                instructions: Some("Be brief.".into()),
                metadata: Some(serde_json::json!({"lastMessage": "x"}).as_object().unwrap().clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let entry = updated.assistant().unwrap();
    assert_eq!(entry.model.as_ref(), Some(&model));
    assert_eq!(entry.instructions.as_deref(), Some("Be brief."));
    let metadata = updated.metadata.unwrap();
    assert_eq!((metadata["lastMessage"].as_str(), metadata["title"].as_str()), (Some("x"), Some("New Thread")));
    assert!(updated.updated.unwrap() >= t.updated.unwrap());

    let long = "x".repeat(600);
    for bad in [long.as_str(), "a\u{0}b", "line\nbreak"] {
        assert_eq!(threads.rename(&t.id, bad).await.unwrap_err().code(), "invalid_request");
    }
    let escaping: ThreadModel = serde_json::from_value(serde_json::json!({"id": "../m"})).unwrap();
    let err = threads.update(&t.id, ThreadUpdate { model: Some(escaping), ..Default::default() }).await.unwrap_err();
    assert_eq!(err.code(), "invalid_id");
    assert_eq!(
        threads
            .create(NewThread { assistant_id: Some("ghost".into()), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[tokio::test]
async fn a_reply_goes_pending_to_ready_and_then_stays_final() {
    let (dir, jan) = open_temp().await;
    let threads = jan.threads();
    let t = threads.create(NewThread::default()).await.unwrap();
    let mut events = jan.subscribe();

    let question = threads.add_message(&t.id, NewMessage::text(Role::User, "What is 2+2?")).await.unwrap();
    let reply = threads.add_message(&t.id, NewMessage::pending_reply("jan")).await.unwrap();
    assert_eq!(reply.status, MessageStatus::Pending);
    assert!(ulid::Ulid::from_string(&reply.id).is_ok(), "ULID ids");
    assert!(reply.id > question.id, "ULIDs sort by creation");

    let last_message = |t: jan_core::threads::Thread| t.metadata.unwrap()["lastMessage"].as_str().map(str::to_owned);
    assert_eq!(last_message(threads.get(&t.id).await.unwrap()).as_deref(), Some("What is 2+2?"));
    let done =
        threads.update_message(&t.id, &reply.id, MessageUpdate::finish("4", MessageStatus::Ready)).await.unwrap();
    assert_eq!((done.status, done.text().as_str()), (MessageStatus::Ready, "4"));
    assert_eq!(last_message(threads.get(&t.id).await.unwrap()).as_deref(), Some("4"), "Jan's thread preview");
    let err =
        threads.update_message(&t.id, &reply.id, MessageUpdate::finish("5", MessageStatus::Stopped)).await.unwrap_err();
    assert_eq!(err.code(), "conflict");
    // Editing a finished message's content (edit and resend) is allowed.
    let edited = threads
        .update_message(
            &t.id,
            &question.id,
            MessageUpdate {
                content: MessageUpdate::finish("What is 3+3?", MessageStatus::Ready).content,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.text(), "What is 3+3?");

    let all = threads.messages(&t.id).await.unwrap();
    assert_eq!(all.iter().map(|m| m.text()).collect::<Vec<_>>(), ["What is 3+3?", "4"]);
    assert_eq!(threads.message(&t.id, &reply.id).await.unwrap().status, MessageStatus::Ready);
    assert_eq!(threads.message(&t.id, "01HZZZZZZZZZZZZZZZZZZZZZZZ").await.unwrap_err().code(), "not_found");

    // The file is Jan's format: one object per line.
    let raw = std::fs::read_to_string(dir.path().join("threads").join(&t.id).join("messages.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert_eq!(first["object"], "thread.message");
    assert_eq!(first["content"][0]["type"], "text");
    assert_eq!(first["content"][0]["text"]["annotations"], serde_json::json!([]));
    assert_eq!(first["thread_id"], t.id.as_str());

    let seen = events_until(
        &mut events,
        |e| matches!(e, Event::MessageUpdated { message } if message.text() == "What is 3+3?"),
    )
    .await;
    assert!(seen.iter().any(|e| matches!(e, Event::MessageCreated { message } if message.id == reply.id)));
    assert!(seen.iter().any(|e| matches!(e, Event::MessageUpdated { message } if message.id == reply.id && message.status == MessageStatus::Ready)));

    threads.delete_message(&t.id, &question.id).await.unwrap();
    assert_eq!(threads.messages(&t.id).await.unwrap().len(), 1);
    assert_eq!(threads.delete_message(&t.id, &question.id).await.unwrap_err().code(), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_appends_to_one_thread_are_all_kept() {
    let (dir, jan) = open_temp().await;
    let t = jan.threads().create(NewThread::default()).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..16 {
        let jan = jan.clone();
        let id = t.id.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25 {
                let text = format!("writer {writer} message {n} {}", "é".repeat(n * 20));
                jan.threads().add_message(&id, NewMessage::text(Role::User, text)).await.unwrap();
            }
        }));
    }
    // Updates to the same thread interleave with the appends.
    let pending = jan.threads().add_message(&t.id, NewMessage::pending_reply("jan")).await.unwrap();
    let updater = {
        let jan = jan.clone();
        let id = t.id.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                jan.threads()
                    .update_message(
                        &id,
                        &pending.id,
                        MessageUpdate::finish(format!("partial {i}"), MessageStatus::Pending),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    updater.await.unwrap();

    let messages = jan.threads().messages(&t.id).await.unwrap();
    assert_eq!(messages.len(), 16 * 25 + 1);
    let ids: HashSet<_> = messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), messages.len(), "ids are unique");
    let texts: HashSet<_> = messages.iter().map(|m| m.text()).collect();
    for writer in 0..16 {
        for n in 0..25 {
            assert!(texts.contains(&format!("writer {writer} message {n} {}", "é".repeat(n * 20))));
        }
    }
    assert!(texts.contains("partial 19"));
    let raw = std::fs::read_to_string(dir.path().join("threads").join(&t.id).join("messages.jsonl")).unwrap();
    assert!(raw.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "every line is whole JSON");
}

#[tokio::test]
async fn a_torn_last_line_is_skipped_and_earlier_messages_survive() {
    let (dir, jan) = open_temp().await;
    let threads = jan.threads();
    let t = threads.create(NewThread::default()).await.unwrap();
    for i in 0..3 {
        threads.add_message(&t.id, NewMessage::text(Role::User, format!("m{i}"))).await.unwrap();
    }
    let path = dir.path().join("threads").join(&t.id).join("messages.jsonl");
    // What a crash in the middle of an append leaves.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(br#"{"id":"01J0000000000000000000000","obj"#)
        .unwrap();

    let texts: Vec<_> = threads.messages(&t.id).await.unwrap().iter().map(|m| m.text()).collect();
    assert_eq!(texts, ["m0", "m1", "m2"]);
    threads.add_message(&t.id, NewMessage::text(Role::User, "after the crash")).await.unwrap();
    let texts: Vec<_> = threads.messages(&t.id).await.unwrap().iter().map(|m| m.text()).collect();
    assert_eq!(texts, ["m0", "m1", "m2", "after the crash"]);
}

#[tokio::test]
async fn unreadable_threads_are_skipped_not_fatal() {
    let (dir, jan) = open_temp().await;
    let good = jan.threads().create(NewThread::default()).await.unwrap();
    let threads_dir = dir.path().join("threads");
    std::fs::create_dir(threads_dir.join("broken_1")).unwrap();
    std::fs::write(threads_dir.join("broken_1/thread.json"), b"{ not json").unwrap();
    std::fs::create_dir(threads_dir.join("empty_2")).unwrap();
    std::fs::write(threads_dir.join("stray-file.txt"), b"x").unwrap();

    let ids: Vec<_> = jan.threads().list().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![good.id]);
    assert_eq!(jan.threads().get("broken_1").await.unwrap_err().code(), "corrupt_file");
    assert_eq!(std::fs::read(threads_dir.join("broken_1/thread.json")).unwrap(), b"{ not json", "left untouched");
}

/// A reply left `pending` by a process that is gone (it was killed mid-reply) is marked `error`, code
/// `interrupted`, keeping its text, when its thread is read; one whose writer still runs (another process on the
/// same data folder) stays pending, and so does a pending message a client made itself (it finishes it).
#[tokio::test]
async fn a_reply_whose_writer_is_gone_is_marked_interrupted_with_its_text() {
    let (dir, jan) = open_temp().await;
    let locks = || -> HashSet<String> {
        std::fs::read_dir(dir.path().join(".jan-instances"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().trim_end_matches(".lock").to_owned())
            .collect()
    };
    let mine = locks();
    let other = jan_core::Jan::open(jan_core::JanConfig::new(dir.path())).await.unwrap();
    let others: Vec<String> = locks().difference(&mine).cloned().collect();
    assert_eq!(others.len(), 1, "each open claims the folder with its own lock file");
    let t = jan.threads().create(NewThread::default()).await.unwrap();
    let pending = |owner: Option<&str>, text: &str| {
        let mut m = NewMessage::pending_reply("jan");
        m.content = vec![jan_core::threads::MessageContent::text(text)];
        if let Some(owner) = owner {
            m.metadata = Some(serde_json::from_value(serde_json::json!({"reply_owner": owner})).unwrap());
        }
        m
    };
    let by_other = jan.threads().add_message(&t.id, pending(Some(&others[0]), "Half a repl")).await.unwrap();
    let gone = ulid::Ulid::new().to_string();
    let by_gone = jan.threads().add_message(&t.id, pending(Some(&gone), "Once upon")).await.unwrap();
    let by_client = jan.threads().add_message(&t.id, pending(None, "")).await.unwrap();

    let mut events = jan.subscribe();
    let messages = jan.threads().messages(&t.id).await.unwrap();
    let status = |id: &str| messages.iter().find(|m| m.id == id).unwrap().clone();
    let interrupted = status(&by_gone.id);
    assert_eq!(interrupted.status, MessageStatus::Error);
    assert_eq!(interrupted.text(), "Once upon", "the text it had is kept");
    assert_eq!(interrupted.metadata.as_ref().unwrap()["error"]["code"], "interrupted");
    assert_eq!(status(&by_other.id).status, MessageStatus::Pending, "its writer still runs");
    assert_eq!(status(&by_client.id).status, MessageStatus::Pending, "a client's own pending message");
    events_until(&mut events, |e| matches!(e, Event::MessageUpdated { message } if message.id == by_gone.id)).await;

    // The other process ends (its lock is released however it ends): its reply is interrupted too.
    drop(other);
    let messages = jan.threads().messages(&t.id).await.unwrap();
    let by_other = messages.iter().find(|m| m.id == by_other.id).unwrap();
    assert_eq!((by_other.status, by_other.text().as_str()), (MessageStatus::Error, "Half a repl"));
}

/// Parameters saved in a thread keep the ranges a request's fields must keep: a value no reply could use is
/// refused when it is saved, naming the field, and nothing is written.
#[tokio::test]
async fn thread_parameters_out_of_range_are_refused_when_saved() {
    let (_dir, jan) = open_temp().await;
    let t = jan.threads().create(NewThread::default()).await.unwrap();
    let before = jan.threads().get(&t.id).await.unwrap().assistant().unwrap().model.clone();
    let model = |v: serde_json::Value| -> ThreadModel { serde_json::from_value(v).unwrap() };
    let bad = [
        (serde_json::json!({"id": "m", "parameters": {"temperature": 5}}), "temperature"),
        (serde_json::json!({"id": "m", "parameters": {"top_p": 1.5}}), "top_p"),
        (serde_json::json!({"id": "m", "parameters": {"presence_penalty": -3}}), "presence_penalty"),
        (serde_json::json!({"id": "m", "parameters": {"max_tokens": 0}}), "max_tokens"),
        (serde_json::json!({"id": "m", "parameters": {"min_p": 1.5}}), "min_p"),
        (serde_json::json!({"id": "m", "settings": {"ctx_len": 10}}), "ctx_len"),
    ];
    for (value, field) in bad {
        let update = ThreadUpdate { model: Some(model(value.clone())), ..Default::default() };
        let err = jan.threads().update(&t.id, update).await.unwrap_err();
        assert_eq!(err.code(), "invalid_value", "{value}: {err}");
        assert!(err.to_string().contains(field), "{err} names {field}");
        let new = NewThread { model: Some(model(value.clone())), ..Default::default() };
        assert_eq!(jan.threads().create(new).await.unwrap_err().code(), err.code(), "{value}");
    }
    assert_eq!(jan.threads().get(&t.id).await.unwrap().assistant().unwrap().model, before, "nothing was written");
    // The ends of the ranges are fine.
    let ok =
        model(serde_json::json!({"id": "m", "parameters": {"temperature": 2, "top_p": 0, "frequency_penalty": -2},
        "settings": {"ctx_len": 256}}));
    jan.threads().update(&t.id, ThreadUpdate { model: Some(ok), ..Default::default() }).await.unwrap();
}
