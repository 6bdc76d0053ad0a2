//! Content names of an SDP answer, taken from the Jingle offer it answers.
//!
//! Why: an SDP answer names its m-lines only through `a=mid`, which many SIP
//! user agents leave out (baresip 1.0.0, most desk phones, FreeSWITCH without
//! WebRTC), so the translated answer gets a made-up name such as `audio`.
//! XEP-0166 matches contents by name, and a WebRTC client (StanzaJS turning the
//! session-accept back into SDP) refuses an answer whose contents it never
//! offered ("The order of m-lines in answer doesn't match order in offer").

use crate::jingle::{Description, Jingle};

fn media_of(description: Option<&Description>) -> Option<&str> {
    match description {
        Some(Description::Rtp(rtp)) => Some(rtp.media.as_str()),
        _ => None,
    }
}

/// Renames `answer`'s contents to the offer's names, pairing them in order
/// within each media type (an answer keeps the offer's m-line order; a content
/// the translation skipped shifts nothing of another type). Group members
/// follow their contents. Contents already named as in the offer stay as they are.
pub fn adopt_offer_names(answer: &mut Jingle, offer: &Jingle) {
    let offered: Vec<&str> = offer.contents.iter().map(|c| c.name.as_str()).collect();
    let mut used = vec![false; offer.contents.len()];
    let mut renames: Vec<(String, String)> = Vec::new();
    for content in &mut answer.contents {
        if let Some(i) = offered.iter().position(|n| *n == content.name) {
            used[i] = true;
            continue;
        }
        let media = media_of(content.description.as_ref());
        let pick = offer.contents.iter().enumerate().find(|(i, c)| {
            !used[*i] && media.is_some() && media_of(c.description.as_ref()) == media
        });
        if let Some((i, c)) = pick {
            used[i] = true;
            renames.push((content.name.clone(), c.name.clone()));
            content.name = c.name.clone();
        }
    }
    for group in &mut answer.groups {
        for member in &mut group.contents {
            if let Some((_, to)) = renames.iter().find(|(from, _)| from == member) {
                *member = to.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jingle::{Content, Group, RtpDescription};

    fn content(name: &str, media: &str) -> Content {
        Content {
            name: name.into(),
            description: Some(Description::Rtp(RtpDescription {
                media: media.into(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn a_mid_less_answer_takes_the_offered_names() {
        let offer = Jingle {
            contents: vec![content("0", "audio"), content("1", "video")],
            ..Default::default()
        };
        let mut answer = Jingle {
            contents: vec![content("audio", "audio"), content("video", "video")],
            groups: vec![Group {
                semantics: "BUNDLE".into(),
                contents: vec!["audio".into(), "video".into()],
            }],
            ..Default::default()
        };
        adopt_offer_names(&mut answer, &offer);
        let names: Vec<&str> = answer.contents.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["0", "1"]);
        assert_eq!(answer.groups[0].contents, ["0", "1"]);
    }

    #[test]
    fn names_that_already_match_are_kept() {
        let offer = Jingle {
            contents: vec![content("a", "audio"), content("b", "audio")],
            ..Default::default()
        };
        let mut answer = Jingle {
            contents: vec![content("b", "audio"), content("audio", "audio")],
            ..Default::default()
        };
        adopt_offer_names(&mut answer, &offer);
        let names: Vec<&str> = answer.contents.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
    }
}
