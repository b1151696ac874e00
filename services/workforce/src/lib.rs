//! The workforce and training service: agents, teams, skills, shifts, presence, routing, courses, certifications, performance and recognition.
