//! Blind transfer asked by the XMPP user: the XEP-0050 ad-hoc command
//! `transfer` on the gateway JID of the call (the full JID the user talks
//! to, `XmppLeg::gateway`).
//!
//! Why an ad-hoc command: Jingle has no transfer action, and XEP-0050 is
//! what XMPP clients already offer for "do something on this entity" (a
//! data form, no client change). The user runs it on the JID of their call:
//!
//! 1. `execute` → a data form with one required field `target` (a number,
//!    or a `sip:` URI);
//! 2. the submitted form → REFER in the call's dialog with `Refer-To` built
//!    from the target through the call's trunk (a number becomes
//!    `sip:<number>@<trunk>;user=phone`; a `sip:` URI keeps its user and
//!    goes through the call's trunk unless it names a trunk's address: the
//!    gateway never asks a PBX to dial a host it was not configured with)
//!    and `Referred-By` the user's address. The user must be allowed to call
//!    out (`[policy]`): a transfer places a call on the user's behalf;
//! 3. 202 → the command `completed` with a note; a refusal → an IQ error
//!    (RFC 7247 §6.2 condition) with the status as text, and the call goes on;
//! 4. the NOTIFYs of the refer subscription get 200; when the sipfrag says
//!    2xx the transfer succeeded: we BYE our dialog (the transferee may also
//!    BYE us first) and the user gets session-terminate `<success/>`; a
//!    failed sipfrag ends the transfer and the call goes on.
//!
//! An IQ from anyone but the call's user, or to a JID with no call, gets
//! `item-not-found` (no call is revealed). `disco#items` on the commands
//! node lists `transfer` (`xmpp::service`).

use super::gateway::{Gateway, bare};
use super::model::{CallState, Side};
use super::transfer::Transfer;
use crate::sip::dialog::Origin;
use crate::sip::message::{Method, Request};
use crate::sip::transaction::ServerKey;
use crate::sip::uri::SipUri;
use crate::xmpp::stanza;
use minidom::Element;
use serde::{Deserialize, Serialize};

/// XEP-0050 namespace.
pub(crate) const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
/// XEP-0004 namespace.
const NS_DATA: &str = "jabber:x:data";
/// The command's node.
pub(crate) const NODE_TRANSFER: &str = "transfer";

/// The command that asked for a transfer, answered when the REFER's final
/// response comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedTransfer {
    /// Branch of our REFER; `None` once it was answered.
    pub branch: Option<String>,
    /// The command IQ's id, sender (the user) and recipient (our JID).
    pub iq_id: String,
    /// The user's full JID.
    pub user: String,
    /// Our JID in the call.
    pub gateway: String,
    /// The command session id.
    pub session: String,
}

impl Gateway {
    /// An XEP-0050 command IQ set; false when `iq` is not one.
    pub(crate) fn adhoc_command(&mut self, iq: &Element) -> bool {
        if iq.name() != "iq" || iq.attr("type") != Some("set") {
            return false;
        }
        let Some(cmd) = iq.get_child("command", NS_COMMANDS) else {
            return false;
        };
        let (Some(from), Some(to), Some(id)) = (iq.attr("from"), iq.attr("to"), iq.attr("id"))
        else {
            return true; // nobody to answer
        };
        let (from, to, id) = (from.to_string(), to.to_string(), id.to_string());
        if cmd.attr("node") != Some(NODE_TRANSFER) {
            self.iq_fail(
                &to,
                &from,
                &id,
                "cancel",
                "item-not-found",
                None,
                "no such command",
            );
            return true;
        }
        let our = self.our_jid_for(&to);
        let call_id = self
            .calls
            .values()
            .find(|c| c.xmpp.initiated && c.xmpp.user == from && c.xmpp.gateway == our)
            .map(|c| c.id.clone());
        let Some(call_id) = call_id else {
            tracing::info!(from, to, "transfer command from someone not in a call here");
            self.iq_fail(
                &to,
                &from,
                &id,
                "cancel",
                "item-not-found",
                None,
                "no call with you here",
            );
            return true;
        };
        let session = cmd.attr("sessionid").unwrap_or_default().to_string();
        match cmd.attr("action").unwrap_or("execute") {
            "cancel" => {
                let mut r = stanza::iq_result(&to, &from, &id);
                r.append_child(command(&session, "canceled"));
                self.send_stanza(r);
                return true;
            }
            "execute" | "complete" | "next" => {}
            _ => {
                self.iq_fail(
                    &to,
                    &from,
                    &id,
                    "modify",
                    "bad-request",
                    None,
                    "unknown action",
                );
                return true;
            }
        }
        let submitted = cmd
            .get_child("x", NS_DATA)
            .filter(|x| x.attr("type") == Some("submit"));
        let Some(form) = submitted else {
            let session = self.fresh(6);
            let mut r = stanza::iq_result(&to, &from, &id);
            r.append_child(transfer_form(&session));
            self.send_stanza(r);
            return true;
        };
        let target = form
            .children()
            .find(|f| f.name() == "field" && f.attr("var") == Some("target"))
            .and_then(|f| f.children().find(|v| v.name() == "value"))
            .map(|v| v.text().trim().to_string())
            .unwrap_or_default();
        if let Err((kind, condition, text)) =
            self.refer_for_user(&call_id, &target, &id, &from, &our, &session)
        {
            tracing::info!(call = %call_id, %target, condition, text, "transfer command refused");
            self.iq_fail(&to, &from, &id, kind, condition, None, text);
        }
        true
    }

    /// Sends the REFER a submitted transfer form asks for.
    #[allow(clippy::too_many_arguments)]
    fn refer_for_user(
        &mut self,
        call_id: &str,
        target: &str,
        iq_id: &str,
        user: &str,
        our: &str,
        session: &str,
    ) -> Result<(), (&'static str, &'static str, &'static str)> {
        let call = &self.calls[call_id];
        if call.state != CallState::Active || call.sip.transfer.is_some() {
            return Err((
                "wait",
                "unexpected-request",
                "the call cannot be transferred now",
            ));
        }
        if !crate::routing::caller_allowed(&self.cfg.config.policy, bare(user)) {
            return Err((
                "auth",
                "forbidden",
                "you may not place calls through this gateway",
            ));
        }
        let uri = if target.starts_with("sip:") || target.starts_with("sips:") {
            SipUri::parse(target).ok()
        } else {
            crate::address::normalize_number(target)
                .and_then(|n| SipUri::parse(&format!("tel:{n}")).ok())
        };
        let Some(uri) = uri else {
            return Err(("modify", "bad-request", "target: a number or a sip: URI"));
        };
        let (trunk, refer_to) = self
            .transfer_route(call_id, &uri)
            .map_err(|_| ("cancel", "not-allowed", "no trunk reaches this target"))?;
        let referred_by = crate::address::jid_to_sip_uri(bare(user), None);
        let branch = self.branch();
        let transport = self.calls[call_id].sip.peer.transport;
        let sent_by = self.sent_by(transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let call = self.calls.get_mut(call_id).expect("checked above");
        let Some(dialog) = call.sip.dialog.as_mut() else {
            return Err((
                "wait",
                "unexpected-request",
                "the call cannot be transferred now",
            ));
        };
        let origin = Origin {
            sent_by: &sent_by,
            branch: &branch,
            user_agent: &ua,
        };
        let mut refer: Request = dialog.request(Method::Refer, &origin);
        refer.headers.push("Refer-To", format!("<{refer_to}>"));
        refer
            .headers
            .push("Referred-By", format!("<{referred_by}>"));
        let hop = dialog.next_hop();
        call.sip.transfer = Some(Box::new(Transfer {
            target: refer_to.clone(),
            trunk: Some(trunk),
            leg: None,
            referrer: None,
            referrer_gone: false,
            asked: Some(AskedTransfer {
                branch: Some(branch.clone()),
                iq_id: iq_id.to_string(),
                user: user.to_string(),
                gateway: our.to_string(),
                session: session.to_string(),
            }),
        }));
        self.by_branch.insert(branch, call_id.to_string());
        tracing::info!(call = %call_id, %refer_to, "transfer asked by the XMPP user: REFER sent");
        self.tx.send_request(refer, hop, self.now);
        Ok(())
    }

    /// The call whose REFER used `branch`.
    pub(crate) fn asked_transfer_of_branch(&self, branch: &str) -> Option<String> {
        let id = self.by_branch.get(branch)?;
        let asked = self.calls.get(id)?.sip.transfer.as_ref()?.asked.as_ref()?;
        (asked.branch.as_deref() == Some(branch)).then(|| id.clone())
    }

    /// The final response to our REFER (`status` 408 for none at all).
    pub(crate) fn refer_answered(&mut self, id: &str, branch: &str, status: u16) {
        if status < 200 {
            return;
        }
        self.by_branch.remove(branch);
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Some(transfer) = call.sip.transfer.as_mut() else {
            return;
        };
        let Some(asked) = transfer.asked.as_mut() else {
            return;
        };
        asked.branch = None;
        let asked = asked.clone();
        let target = transfer.target.clone();
        if (200..300).contains(&status) {
            tracing::info!(call = %id, status, "REFER accepted by the SIP peer");
            let mut r = stanza::iq_result(&asked.gateway, &asked.user, &asked.iq_id);
            let mut cmd = command(&asked.session, "completed");
            let mut note = stanza::el("note", NS_COMMANDS);
            stanza::set(&mut note, "type", "info");
            note.append_text(format!(
                "Transfer to {target} accepted; the call ends when it succeeds."
            ));
            cmd.append_child(note);
            r.append_child(cmd);
            self.send_stanza(r);
            return;
        }
        tracing::info!(call = %id, status, "REFER refused by the SIP peer: the call goes on");
        call.sip.transfer = None;
        let condition = super::reasons::stanza_error_for_status(status);
        let text = format!(
            "the SIP peer refused the transfer: {status} {}",
            super::reasons::phrase(status)
        );
        self.send_stanza(stanza::iq_error(
            &asked.gateway,
            &asked.user,
            &asked.iq_id,
            "cancel",
            condition,
            None,
            Some(&text),
        ));
    }

    /// A NOTIFY in the dialog: the progress of the transfer we asked for
    /// (200), or of no subscription of ours (481).
    pub(crate) fn inbound_notify(&mut self, id: &str, request: &Request, key: &ServerKey) {
        let asked = self
            .calls
            .get(id)
            .and_then(|c| c.sip.transfer.as_ref())
            .is_some_and(|t| t.asked.is_some());
        let is_refer = request
            .headers
            .get("Event")
            .is_some_and(|e| e.split(';').next().unwrap_or("").trim() == "refer");
        if !asked || !is_refer {
            self.reply(key, request, 481, None);
            return;
        }
        self.reply(key, request, 200, None);
        let status = sipfrag_status(&request.body);
        match status {
            Some(s) if (200..300).contains(&s) => {
                tracing::info!(call = %id, "transfer succeeded: hanging up our dialog");
                self.terminate_xmpp(id, "success", Some("call transferred"));
                self.hangup_sip(id);
                self.end_call(id, Side::Xmpp, None);
            }
            Some(s) if s >= 300 => {
                tracing::info!(call = %id, status = s, "transfer failed at the SIP peer: the call goes on");
                if let Some(c) = self.calls.get_mut(id) {
                    c.sip.transfer = None;
                }
            }
            _ => {}
        }
    }
}

/// The status code of a `message/sipfrag` body's status line.
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next()?;
    let mut words = line.split_whitespace();
    (words.next()? == "SIP/2.0").then_some(())?;
    words.next()?.parse().ok()
}

fn command(session: &str, status: &str) -> Element {
    let mut cmd = stanza::el("command", NS_COMMANDS);
    stanza::set(&mut cmd, "node", NODE_TRANSFER);
    stanza::set(&mut cmd, "sessionid", session);
    stanza::set(&mut cmd, "status", status);
    cmd
}

fn transfer_form(session: &str) -> Element {
    let mut cmd = command(session, "executing");
    let mut actions = stanza::el("actions", NS_COMMANDS);
    stanza::set(&mut actions, "execute", "complete");
    actions.append_child(stanza::el("complete", NS_COMMANDS));
    cmd.append_child(actions);
    let mut x = stanza::el("x", NS_DATA);
    stanza::set(&mut x, "type", "form");
    let mut title = stanza::el("title", NS_DATA);
    title.append_text("Transfer the call");
    x.append_child(title);
    let mut field = stanza::el("field", NS_DATA);
    stanza::set(&mut field, "var", "target");
    stanza::set(&mut field, "type", "text-single");
    stanza::set(&mut field, "label", "Number or sip: address");
    field.append_child(stanza::el("required", NS_DATA));
    x.append_child(field);
    cmd.append_child(x);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sipfrag_status_lines() {
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying"), Some(100));
        assert_eq!(
            sipfrag_status(b"SIP/2.0 486 Busy Here\r\nVia: x\r\n"),
            Some(486)
        );
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b""), None);
    }
}
