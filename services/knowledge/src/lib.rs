//! The knowledge service: multilingual articles with versions and review, Chinese and English search, deflection, content gaps and stats.
