/*
 * anomaly.h — internals of the sequence anomaly detector (anomaly.c),
 * exposed for tests: the event dictionary ids and the per-session score of
 * a model (the worst rank and probability mass of its events).
 */
#ifndef LR_ANOMALY_H
#define LR_ANOMALY_H

#include "logrisk.h"

/* Model event ids 0..2 are special: the padding before a session's first
 * event, the end of a session (predicted after its last event) and an event
 * the model never saw (never predicted, so always unexpected). */
enum { LR_AN_START = 0, LR_AN_END = 1, LR_AN_UNK = 2, LR_AN_N_SPECIAL = 3 };

/* The worst position of each session under the model: the largest rank of
 * an actual next event (1 = the most likely; INT32_MAX for an unknown
 * event) and the largest probability mass of the events ranked above it.
 * A session is anomalous at top_k k when rank > k, at top_p p when
 * mass >= p. rank[i] and mass[i] for session i of s (arrays of
 * lr_sessions_count(s)). */
int lr__anomaly_session_scores(const lr_anomaly *m, const lr_sessions *s, int threads, int *rank,
                               float *mass, lr_error *err);

/* The number of events the model knows (the specials included), and the
 * name of event i. */
int lr__anomaly_n_events(const lr_anomaly *m);
const char *lr__anomaly_event(const lr_anomaly *m, int i, size_t *len);

#endif /* LR_ANOMALY_H */
