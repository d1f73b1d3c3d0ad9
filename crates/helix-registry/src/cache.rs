//! The hot pull cache and the popularity ranking, in a Redis Cluster.
//! A key's cached answer and its pull counter share a hash tag (the gene
//! key), so the one script that reads the one and counts on the other
//! touches one slot.

use std::time::Duration;

use helix_core::GeneKey;
use redis::Script;
use redis::cluster_async::ClusterConnection;

use crate::wire::RegistryGene;

/// How long a cached answer lives (a push to its key drops it at once).
pub const TTL: Duration = Duration::from_secs(30);
/// The popularity ranking: pulls per gene id.
pub const RANKING: &str = "helix:{rank}:pulls";

const READ_AND_COUNT: &str = r"
redis.call('INCR', KEYS[2])
return redis.call('GET', KEYS[1])
";

/// The cache.
#[derive(Clone)]
pub struct PullCache {
    conn: ClusterConnection,
    script: Script,
}

impl std::fmt::Debug for PullCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullCache").finish_non_exhaustive()
    }
}

fn keys(key: GeneKey) -> (String, String) {
    let tag = format!("{}/{}", key.code, key.category);
    (
        format!("helix:{{{tag}}}:best"),
        format!("helix:{{{tag}}}:pulls"),
    )
}

/// A cached answer: a gene, or the knowledge that there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Cached {
    /// Not in the cache.
    Miss,
    /// The registry had nothing good enough.
    None,
    /// The best gene.
    Gene(Box<RegistryGene>),
}

impl PullCache {
    /// Over a cluster connection.
    pub async fn connect(nodes: &[String]) -> Result<ClusterConnection, redis::RedisError> {
        let client = redis::cluster::ClusterClient::builder(nodes.to_vec())
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(1))
            .build()?;
        client.get_async_connection().await
    }

    /// The cache over `conn`.
    pub fn new(conn: ClusterConnection) -> Self {
        PullCache {
            conn,
            script: Script::new(READ_AND_COUNT),
        }
    }

    /// The cached answer for `key`, counting the pull.
    pub async fn get(&self, key: GeneKey) -> Result<Cached, redis::RedisError> {
        let (best, pulls) = keys(key);
        let mut c = self.conn.clone();
        let v: Option<String> = self
            .script
            .key(best)
            .key(pulls)
            .invoke_async(&mut c)
            .await?;
        Ok(match v.as_deref() {
            None => Cached::Miss,
            Some("none") => Cached::None,
            Some(s) => match serde_json::from_str(s) {
                Ok(g) => Cached::Gene(Box::new(g)),
                Err(_) => Cached::Miss,
            },
        })
    }

    /// Stores an answer.
    pub async fn put(
        &self,
        key: GeneKey,
        g: Option<&RegistryGene>,
    ) -> Result<(), redis::RedisError> {
        let text = match g {
            Some(g) => serde_json::to_string(g).unwrap_or_else(|_| "none".into()),
            None => "none".into(),
        };
        let mut c = self.conn.clone();
        redis::cmd("SET")
            .arg(keys(key).0)
            .arg(text)
            .arg("PX")
            .arg(TTL.as_millis() as u64)
            .query_async::<()>(&mut c)
            .await
    }

    /// Drops `key`'s answer (a push changed it).
    pub async fn invalidate(&self, key: GeneKey) -> Result<(), redis::RedisError> {
        let mut c = self.conn.clone();
        redis::cmd("DEL")
            .arg(keys(key).0)
            .query_async::<()>(&mut c)
            .await
    }

    /// Counts a served gene in the ranking.
    pub async fn rank(&self, g: &RegistryGene) -> Result<(), redis::RedisError> {
        let mut c = self.conn.clone();
        redis::cmd("ZINCRBY")
            .arg(RANKING)
            .arg(1)
            .arg(g.id.to_string())
            .query_async::<()>(&mut c)
            .await
    }

    /// The most pulled gene ids with their pull counts.
    pub async fn popular(&self, n: usize) -> Result<Vec<(String, f64)>, redis::RedisError> {
        let mut c = self.conn.clone();
        redis::cmd("ZREVRANGE")
            .arg(RANKING)
            .arg(0)
            .arg(n.saturating_sub(1) as i64)
            .arg("WITHSCORES")
            .query_async(&mut c)
            .await
    }
}
