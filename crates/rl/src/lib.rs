//! DrQ-v2 (visual continuous control) as a PBT-NAS task (docs/rl.md): the 36-gene searchable
//! encoder, actor and critic (docs/search-spaces.md, "DrQ-v2 space", "DrQ-v2 networks"), a
//! compact n-step replay buffer with DrQ-v2's random-shift augmentation, the agent's update, and
//! the [`RlTask`] the orchestrator searches over.

pub mod agent;
pub mod config;
pub mod env;
pub mod kind;
pub mod nets;
pub mod obs;
pub mod replay_buffer;
pub mod task;

pub use agent::{Agent, AgentSpec};
pub use config::RlConfig;
pub use task::{Member, RlTask, RL_SPACE};
