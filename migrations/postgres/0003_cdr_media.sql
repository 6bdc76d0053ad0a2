-- Per-leg media counts of anchored calls in the CDR (keep in step with ../sqlite/).
-- The embedded anchor's last report before the call ended (at most 5 s old):
-- packets and bytes each way, RTP packets lost (RFC 3550 §A.3) and interarrival
-- jitter in ms (§6.4.1) of what the leg sent us, packets dropped. NULL for a
-- call without those counts (passthrough, rtpengine, ended before media ran).
ALTER TABLE cdrs ADD COLUMN xmpp_packets_in BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN xmpp_packets_out BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN xmpp_bytes_in BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN xmpp_bytes_out BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN xmpp_lost BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN xmpp_dropped BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN xmpp_jitter_ms DOUBLE PRECISION NULL;
ALTER TABLE cdrs ADD COLUMN sip_packets_in BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN sip_packets_out BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN sip_bytes_in BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN sip_bytes_out BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN sip_lost BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN sip_dropped BIGINT NULL;
ALTER TABLE cdrs ADD COLUMN sip_jitter_ms DOUBLE PRECISION NULL;
