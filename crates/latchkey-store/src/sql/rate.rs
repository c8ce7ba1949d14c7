//! `RateRepo`: per-node counts of admitted requests. Expanded by
//! [`impl_repos!`](super::impl_repos) inside each adapter's `repos` module.

macro_rules! rate_repos {
    ($store:ident, $db:ty) => {
        use crate::{RateCount, RateRepo};

        #[async_trait]
        impl RateRepo for $store {
            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn exchange_rate_counts(
                &self,
                node: &str,
                added: &[(String, UnixTime, i64)],
                since: UnixTime,
            ) -> Result<Vec<RateCount>> {
                // Several keys per statement: a node syncs about once a second.
                for chunk in added.chunks(500) {
                    let mut sql =
                        String::from("INSERT INTO rate_usage (rate_key, window_start, node, admitted) VALUES ");
                    for i in 0..chunk.len() {
                        let n = i * 3;
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!("(${}, ${}, $1, ${})", n + 2, n + 3, n + 4));
                    }
                    sql.push_str(
                        " ON CONFLICT (rate_key, window_start, node) DO UPDATE SET \
                         admitted = rate_usage.admitted + excluded.admitted",
                    );
                    // Placeholders only: the text holds no input.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(node);
                    for (key, window, admitted) in chunk {
                        q = q.bind(key.as_str()).bind(*window).bind(*admitted);
                    }
                    q.execute(self.writer()).await.map_err(e)?;
                }
                let rows = sqlx::query(
                    "SELECT rate_key, window_start, node, admitted FROM rate_usage \
                     WHERE window_start >= $1 AND node <> $2",
                )
                .bind(since)
                .bind(node)
                .fetch_all(&self.pool)
                .await
                .map_err(e)?;
                rows.iter()
                    .map(|r| {
                        Ok(RateCount {
                            key: r.try_get("rate_key").map_err(e)?,
                            window: r.try_get("window_start").map_err(e)?,
                            node: r.try_get("node").map_err(e)?,
                            admitted: r.try_get("admitted").map_err(e)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(target = "latchkey_otel", skip_all, fields(otel.kind = "client", db.system = DB_SYSTEM))]
            async fn purge_rate_counts(&self, before: UnixTime) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM rate_usage WHERE window_start < $1")
                    .bind(before)
                    .execute(self.writer())
                    .await
                    .map_err(e)?
                    .rows_affected())
            }
        }
    };
}

pub(crate) use rate_repos;
