use super::*;
use crate::model::progress::{ClaimRow, ClaimState, Stuck};

#[test]
fn lines_are_parseable() {
    let at: Timestamp = "2026-11-22T03:05:07.301Z".parse().unwrap();
    let l = line(
        at,
        "pod",
        "web-2",
        "stuck",
        &[
            ("reason", "ImagePullBackOff".into()),
            ("message", "Back-off \"x\" a=b".into()),
        ],
    );
    assert_eq!(
        l,
        r#"2026-11-22T03:05:07.301Z pod/web-2 stuck reason=ImagePullBackOff message="Back-off \"x\" a=b""#
    );
    assert_eq!(value(""), "\"\"");
    assert!(!l.contains('\n'));
    let whole: Timestamp = "2026-11-22T03:05:07Z".parse().unwrap();
    assert_eq!(time(whole), "2026-11-22T03:05:07.000Z");
}

#[test]
fn row_text_names_claims_and_cause() {
    let row = OrdinalRow {
        ordinal: 2,
        pod: "web-2".into(),
        role: Role::Adding,
        state: PodState::Pending,
        status: "ImagePullBackOff".into(),
        ready: "0/1".into(),
        restarts: 0,
        claims: vec![ClaimRow {
            template: "disk-ssd".into(),
            name: "disk-ssd-web-2".into(),
            state: ClaimState::Reused,
            phase: Some("Bound".into()),
            volume: Some("pv2".into()),
            previous_volume: Some("pv2".into()),
        }],
        stuck: Some(Stuck {
            reason: "ImagePullBackOff",
            message: "container nginx ImagePullBackOff".into(),
            object: "pod/web-2".into(),
            clear: true,
        }),
        done: false,
    };
    let s = row_text(&row, Some(Duration::from_millis(3200)), Style::plain());
    assert!(s.contains("web-2") && s.contains("disk-ssd-web-2 reused") && s.contains("3.2s"));
    assert!(s.contains("ImagePullBackOff: container nginx"), "{s}");
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn plain_lines_carry_every_change_and_no_rows() {
    let buf = Buffer::default();
    let view = LiveView::to_writer(Box::new(buf.clone()));
    assert!(!view.is_bars());
    let at: Timestamp = "2026-11-22T03:05:07.301Z".parse().unwrap();
    view.note(
        at,
        "pvc",
        "disk-web-3",
        LiveEvent::WillBeKept,
        &[("ordinal", "3".into())],
    );
    view.note(
        at,
        "watch",
        "pods",
        LiveEvent::WatchError,
        &[("message", "gone away".into())],
    );
    let created = Transition {
        at,
        kind: "pod",
        name: "web-2".into(),
        event: crate::model::events::Ev::Created,
        fields: vec![("ordinal", "2".into())],
    };
    view.show_scale(std::slice::from_ref(&created), &[], &|_| None);
    // Rows and the overall bar are for the terminal only.
    view.set_row(2, "web-2 Running".into());
    view.set_overall(1, 2, "web-2 stuck".into());
    view.finish();
    assert_eq!(
        buf.text(),
        "2026-11-22T03:05:07.301Z pvc/disk-web-3 will-be-kept ordinal=3\n\
         2026-11-22T03:05:07.301Z watch/pods error message=\"gone away\"\n\
         2026-11-22T03:05:07.301Z pod/web-2 created ordinal=2\n"
    );
}

#[test]
fn plain_status_lines_are_stamped_with_the_clock() {
    let buf = Buffer::default();
    let view = LiveView::to_writer(Box::new(buf.clone()));
    view.status("web-0: deleting the pod");
    // Off a terminal a step is one status line: the "now" text is for the bars.
    view.step("web-0: pod deleted (+1.2s)", "web-0: waiting for the new pod");
    view.clear();
    let text = buf.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (l, msg) in lines
        .iter()
        .zip(["web-0: deleting the pod", "web-0: pod deleted (+1.2s)"])
    {
        // `[HH:MM:SS.mmm] msg`
        let (stamp, rest) = l.split_once("] ").expect("a stamp");
        assert_eq!(rest, msg);
        let stamp = stamp.strip_prefix('[').expect("bracketed");
        assert_eq!(stamp.len(), 12, "{stamp}");
        assert!(stamp.chars().enumerate().all(|(i, c)| match i {
            2 | 5 => c == ':',
            8 => c == '.',
            _ => c.is_ascii_digit(),
        }));
    }
}

#[test]
fn the_view_can_be_shared_across_tasks() {
    // verify's drill reports from `&self` futures that tokio may move between threads.
    fn shared<T: Send + Sync>() {}
    shared::<LiveView>();
}
