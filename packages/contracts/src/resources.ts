// Names of the NATS resources Marina's services share: JetStream streams, KV buckets and
// queue groups. One place, so a service that creates a resource and one that reads it
// cannot drift apart. Subjects are in subjects.ts.

/** JetStream streams and the subjects each one keeps. */
export const STREAMS = {
  /** Authoritative topology, situations, operation progress: for late subscribers. */
  events: {
    name: "MARINA_EVENTS",
    subjects: ["marina.v1.*.topology", "marina.v1.*.events", "marina.v1.*.op.*"],
  },
  /**
   * One record per finished or refused operation (history.ts), kept by age and count
   * (config `history`); a subject per operation, so a record is found by its id.
   */
  history: {
    name: "MARINA_HISTORY",
    subjects: ["marina.v1.*.history.*"],
  },
  /** The monitors' health samples and observed topologies (recent history only). */
  health: {
    name: "MARINA_HEALTH",
    subjects: ["marina.v1.*.health.*", "marina.v1.*.observed"],
  },
} as const;

export const EVENTS_STREAM = STREAMS.events.name;
export const HEALTH_STREAM = STREAMS.health.name;
export const HISTORY_STREAM = STREAMS.history.name;

/** JetStream KV buckets. */
export const BUCKETS = {
  /** The leader lease per cluster: `{holder, epoch, renewedAt}`, TTL = lease. */
  leader: "marina_leader",
  /** The leading decider's persisted state per cluster. */
  state: "marina_state",
  /**
   * One key per running decider (its presence: the clusters it configures and leads),
   * TTL = lease; deciders share the clusters among the live ones by it.
   */
  deciders: "marina_deciders",
} as const;

export const LEASE_BUCKET = BUCKETS.leader;
export const STATE_BUCKET = BUCKETS.state;
export const PRESENCE_BUCKET = BUCKETS.deciders;

/** Queue groups: one member of the group gets each request. */
export const QUEUE_GROUPS = {
  executors: "executors",
  /** Deciders share the cluster's command subject; a follower forwards to the leader. */
  deciders: "deciders",
} as const;
