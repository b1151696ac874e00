//! Performance: an agent's and a team's figures (with buckets) and ranked scorecards.

use std::collections::HashMap;

use aftercare_platform::request::PageToken;
use aftercare_platform::time::to_timestamp;
use aftercare_proto::aftercare::workforce::v1 as pb;
use uuid::Uuid;

use super::Api;
use super::parse::{ListScorecards, Performance, ScoreOrder};
use crate::convert;
use crate::domain::access::Caller;
use crate::domain::agent::Agent;
use crate::domain::names::{agent_name, team_name};
use crate::domain::performance::{Fact, Interval, Metrics, buckets, metrics, score};
use crate::error::Error;
use crate::store::{self, FactScope};

fn series(
    facts: &[Fact],
    start: i64,
    end: i64,
    interval: Option<Interval>,
) -> Result<Vec<pb::PerformanceBucket>, Error> {
    let Some(interval) = interval else {
        return Ok(Vec::new());
    };
    let ranges = buckets(start, end, interval).ok_or_else(|| {
        Error::invalid("interval", "more than 1000 buckets: pick a larger interval")
    })?;
    Ok(ranges
        .into_iter()
        .map(|(s, e)| convert::bucket(s, e, &metrics(facts, s, e)))
        .collect())
}

#[tracing::instrument(skip_all, fields(agent = %request.id))]
pub async fn agent(
    api: &Api,
    caller: &Caller,
    request: Performance,
) -> Result<pb::GetAgentPerformanceResponse, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let agent = store::load_agent(&mut conn, request.id).await?;
    if !caller.may_read_performance_of(&agent) {
        return Err(Error::PermissionDenied(
            "agents read their own performance, leads their teams', analysts anyone's",
        ));
    }
    let (start, end) = (request.range.start, request.range.end);
    let facts = store::facts(&mut conn, &FactScope::Agent(agent.id), start, end).await?;
    Ok(pb::GetAgentPerformanceResponse {
        agent: agent_name(agent.id),
        start_time: Some(to_timestamp(start)),
        end_time: Some(to_timestamp(end)),
        metrics: Some(convert::metrics(&metrics(&facts, start, end))),
        buckets: series(&facts, start, end, request.interval)?,
    })
}

#[tracing::instrument(skip_all, fields(team = %request.id))]
pub async fn team(
    api: &Api,
    caller: &Caller,
    request: Performance,
) -> Result<pb::GetTeamPerformanceResponse, Error> {
    let mut conn = api.db.reader().acquire().await?;
    let team = store::load_team(&mut conn, request.id).await?;
    if !caller.may_read_team_performance(team.id) {
        return Err(Error::PermissionDenied(
            "a team's performance is read by its lead and members, analysts and admins",
        ));
    }
    let (start, end) = (request.range.start, request.range.end);
    let facts = store::facts(&mut conn, &FactScope::Team(team.id), start, end).await?;
    let contributing = facts
        .iter()
        .filter_map(|f| f.agent)
        .collect::<std::collections::HashSet<_>>()
        .len();
    Ok(pb::GetTeamPerformanceResponse {
        team: team_name(team.id),
        start_time: Some(to_timestamp(start)),
        end_time: Some(to_timestamp(end)),
        metrics: Some(convert::metrics(&metrics(&facts, start, end))),
        contributing_agents: contributing as i32,
        buckets: series(&facts, start, end, request.interval)?,
    })
}

fn key(order: ScoreOrder, m: &Metrics, score: f64) -> f64 {
    match order {
        ScoreOrder::Score => score,
        ScoreOrder::Csat => m.csat_average,
        ScoreOrder::Sla => m.sla_compliance,
        ScoreOrder::ResolutionRate => m.resolution_rate,
        ScoreOrder::Resolved => m.resolved as f64,
        ScoreOrder::FirstResponse => m.first_response_mean.map_or(f64::MAX, |v| v as f64),
    }
}

#[tracing::instrument(skip_all)]
pub async fn scorecards(
    api: &Api,
    caller: &Caller,
    request: ListScorecards,
) -> Result<pb::ListScorecardsResponse, Error> {
    let led_only = if caller.reads_all_performance() {
        None
    } else if caller
        .principal
        .has_role(aftercare_platform::auth::Role::Lead)
    {
        Some(caller.led_teams.clone())
    } else {
        return Err(Error::PermissionDenied(
            "scorecards are read by leads, analysts, trainers and admins",
        ));
    };
    let (start, end) = (request.range.start, request.range.end);
    let mut conn = api.db.reader().acquire().await?;
    let scope = match request.team {
        Some(team) => FactScope::Team(team),
        None => FactScope::All,
    };
    let facts = store::facts(&mut conn, &scope, start, end).await?;
    let mut by_agent: HashMap<Uuid, Vec<Fact>> = HashMap::new();
    for f in facts {
        if let Some(agent) = f.agent {
            by_agent.entry(agent).or_default().push(f);
        }
    }
    let ids: Vec<Uuid> = by_agent.keys().copied().collect();
    let mut agents: Vec<Agent> = store::load_agents(&mut conn, &ids).await?;
    agents.retain(|a| {
        request
            .region
            .as_ref()
            .is_none_or(|r| *r == a.profile.region)
            && request
                .service_centre
                .as_ref()
                .is_none_or(|c| a.profile.service_centre.as_ref() == Some(c))
            && request.role.is_none_or(|r| a.profile.roles.contains(&r))
            && led_only
                .as_ref()
                .is_none_or(|led| a.teams.iter().any(|t| led.contains(t)))
    });
    let mut cards: Vec<(Agent, Metrics, f64)> = agents
        .into_iter()
        .map(|a| {
            let m = metrics(
                by_agent.get(&a.id).map(Vec::as_slice).unwrap_or_default(),
                start,
                end,
            );
            let s = score(&m).unwrap_or(0.0);
            (a, m, s)
        })
        .collect();
    cards.sort_by(|(a, am, as_), (b, bm, bs)| {
        let (ka, kb) = (key(request.order, am, *as_), key(request.order, bm, *bs));
        let ordering = if request.descending {
            kb.partial_cmp(&ka)
        } else {
            ka.partial_cmp(&kb)
        };
        ordering
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| {
                a.profile
                    .display_name
                    .to_lowercase()
                    .cmp(&b.profile.display_name.to_lowercase())
            })
            .then(a.id.cmp(&b.id))
    });
    let page = &request.page;
    let offset = page
        .after
        .as_ref()
        .and_then(PageToken::int_key)
        .unwrap_or(0)
        .max(0) as usize;
    let size = page.size as usize;
    let total = cards.len();
    let mut scorecards = Vec::new();
    for (rank, (agent, m, s)) in cards.into_iter().enumerate().skip(offset).take(size) {
        scorecards.push(pb::Scorecard {
            agent: agent_name(agent.id),
            display_name: agent.profile.display_name.clone(),
            teams: agent.teams.iter().map(|t| team_name(*t)).collect(),
            region: agent.profile.region.clone(),
            metrics: Some(convert::metrics(&m)),
            score: s,
            rank: (rank + 1) as i32,
        });
    }
    let next_page_token = if offset + size < total {
        let last = scorecards
            .last()
            .and_then(|c| crate::domain::names::parse_agent_name(&c.agent))
            .unwrap_or_default();
        page.token_after(&PageToken::int((offset + size) as i64, last))
    } else {
        String::new()
    };
    Ok(pb::ListScorecardsResponse {
        scorecards,
        next_page_token,
    })
}
