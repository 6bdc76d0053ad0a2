//! Typed views of the SIP headers the gateway reads and writes (Via, From/To, CSeq, …).
