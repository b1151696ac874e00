//! The feedback service: surveys and invitations, responses, classified feedback, the closed loop of follow-ups, and stats.
