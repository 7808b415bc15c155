//! Step 2 of a resize: give the StatefulSet the bigger claim template without touching
//! its pods. An in-place update when the server accepts one (a `dryRun=All` update
//! succeeds, as it will once claim templates become mutable, KEP-4650); otherwise the
//! runbook done safely: DELETE with `propagationPolicy: Orphan` and a UID precondition,
//! wait until the garbage collector has released the pods and revisions and the object
//! is gone, create it again from the backup, and wait until the new StatefulSet has
//! adopted every pod (same UIDs) and revision (ground truth: the v1.26
//! `watch-{sts,pods,revisions}-orphan-delete-recreate` captures).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams, Preconditions, PropagationPolicy};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};

use super::backup::Backup;
use super::{Ctx, Stage};
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::selector_string;
use crate::model::resize::{self, not_adopted};

impl Ctx<'_> {
    /// Bring the StatefulSet to the bigger template from whatever state it is in (a
    /// resume may find it untouched, terminating, gone, or already re-created).
    pub(super) async fn replace(&mut self, backup: &Backup) -> Result<()> {
        let api: Api<StatefulSet> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let changes = backup.changes();
        let get = Target::new("get", "statefulset", Some(&self.name), Some(&self.ns));
        let current = self.kube.call(get, api.get_opt(&self.name)).await?;
        let old_uid = backup.uid().to_string();
        self.outcome.old_uid = Some(old_uid.clone());
        self.outcome.revision_before = backup
            .stateful_set
            .status
            .as_ref()
            .and_then(|s| s.update_revision.clone());
        let new_uid = match current {
            Some(s)
                if s.metadata.uid.as_deref() == Some(old_uid.as_str()) && s.metadata.deletion_timestamp.is_none() =>
            {
                if resize::template_done(&s, &changes) {
                    old_uid.clone()
                } else if self.update_in_place(&api, &s, &changes).await? {
                    self.method = Some("update");
                    old_uid.clone()
                } else {
                    self.method = Some("orphanRecreate");
                    self.orphan_delete(&api, &old_uid).await?;
                    self.create(&api, backup).await?
                }
            }
            Some(s) if s.metadata.uid.as_deref() == Some(old_uid.as_str()) => {
                self.method = Some("orphanRecreate");
                self.stage = Stage::Deleting;
                self.wait_gone(&api, &old_uid).await?;
                self.create(&api, backup).await?
            }
            Some(s) if resize::template_done(&s, &changes) => {
                self.method.get_or_insert("orphanRecreate");
                s.metadata.uid.clone().unwrap_or_default()
            }
            Some(s) => {
                return Err(CliError::failed(format!(
                    "statefulset \"{}\" exists with uid {}, not the {old_uid} of the backup, and its claim template is not resized: someone re-created it meanwhile; nothing was changed (compare it with the backup and resize again)",
                    self.name,
                    s.metadata.uid.as_deref().unwrap_or("?")
                )));
            }
            None => {
                self.method = Some("orphanRecreate");
                self.stage = Stage::Deleted;
                self.create(&api, backup).await?
            }
        };
        self.outcome.new_uid = Some(new_uid.clone());
        self.stage = Stage::Created;
        self.wait_adopted(backup, &new_uid).await
    }

    /// An in-place update, when a server-side dry run accepts it (422 otherwise).
    async fn update_in_place(
        &self,
        api: &Api<StatefulSet>,
        s: &StatefulSet,
        changes: &[resize::TemplateChange],
    ) -> Result<bool> {
        let mut want = resize::recreated(s, changes);
        want.metadata.uid = s.metadata.uid.clone();
        want.metadata.resource_version = s.metadata.resource_version.clone();
        let dry = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        match api.replace(&self.name, &dry, &want).await {
            Ok(_) => {}
            // 422: this server keeps claim templates immutable. RBAC's 403 (checked
            // before validation): the Role grants delete and create but not update
            // (docs/rbac.yaml). Either way the delete and create do the job; any other
            // refusal (an admission webhook's 403) stops here, before the delete.
            Err(kube::Error::Api(e)) if e.code == 422 || is_rbac_denial(&e) => return Ok(false),
            Err(e) => {
                let t = Target::new("update", "statefulset", Some(&self.name), Some(&self.ns));
                return Err(self.stopped_with(self.kube.error(&e, t)));
            }
        }
        self.check_stop("before updating the claim template".into())?;
        let t = Target::new("update", "statefulset", Some(&self.name), Some(&self.ns));
        self.kube
            .call(t, api.replace(&self.name, &PostParams::default(), &want))
            .await?;
        self.live.step(
            &format!("statefulset/{}: claim template updated in place", self.name),
            "",
        );
        Ok(true)
    }

    async fn orphan_delete(&mut self, api: &Api<StatefulSet>, uid: &str) -> Result<()> {
        self.check_stop("before deleting the StatefulSet".into())?;
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Orphan),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let t = Target::new("delete", "statefulset", Some(&self.name), Some(&self.ns));
        match api.delete(&self.name, &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {
                return Err(CliError::failed(format!(
                    "statefulset \"{}\" is no longer the one backed up (uid {uid}): it was replaced meanwhile; it was not deleted (claims raised so far keep growing)",
                    self.name
                )));
            }
            Err(e) => return Err(self.stopped_with(self.kube.error(&e, t))),
        }
        self.stage = Stage::Deleting;
        self.live.step(
            &format!(
                "statefulset/{}: deleted with propagationPolicy Orphan (uid {uid}); its pods keep running",
                self.name
            ),
            "waiting for the garbage collector to release the pods",
        );
        self.wait_gone(api, uid).await
    }

    async fn wait_gone(&mut self, api: &Api<StatefulSet>, uid: &str) -> Result<()> {
        let gone = await_condition(api.clone(), &self.name, conditions::is_deleted(uid));
        tokio::select! {
            r = tokio::time::timeout(self.args.timeout, gone) => match r {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.stopped(ErrorKind::Unreachable, &format!("the watch on statefulset {} failed: {e}", self.name))),
                Err(_) => return Err(self.stopped(ErrorKind::TimedOut, &format!("statefulset {} (orphan delete) was not gone within {}", self.name, crate::model::duration::human_duration(self.args.timeout)))),
            },
            () = crate::interrupt::ctrl_c() => return Err(self.interrupted("while the StatefulSet was being deleted")),
        }
        self.stage = Stage::Deleted;
        Ok(())
    }

    async fn create(&mut self, api: &Api<StatefulSet>, backup: &Backup) -> Result<String> {
        // The crash window: no controller now. Ctrl-C waits until the create is done.
        let body = resize::recreated(&backup.stateful_set, &backup.changes());
        let t = Target::new("create", "statefulset", Some(&self.name), Some(&self.ns));
        let created = match self.kube.call(t, api.create(&PostParams::default(), &body)).await {
            Ok(s) => s,
            Err(e) => return Err(self.stopped_with(e)),
        };
        let uid = created.metadata.uid.clone().unwrap_or_default();
        self.live.step(
            &format!(
                "statefulset/{}: created again (uid {uid}) with the bigger claim template",
                self.name
            ),
            "waiting for it to adopt its pods",
        );
        Ok(uid)
    }

    /// Until every pod of the backup is owned by the new StatefulSet with its UID
    /// unchanged, and the StatefulSet's revisions are adopted too.
    async fn wait_adopted(&mut self, backup: &Backup, uid: &str) -> Result<()> {
        let selector = selector_string(&backup.stateful_set.spec.selector);
        let expected: BTreeMap<String, String> = backup
            .pods
            .iter()
            .filter(|(n, _)| !self.restarted.contains(n))
            .map(|(n, u)| (n.clone(), u.clone()))
            .collect();
        let pods = self.watch_until::<Pod>(&selector, |all: &[Pod]| {
            let adopted = not_adopted(all, uid).is_empty();
            let same = expected.iter().all(|(n, u)| {
                all.iter()
                    .any(|p| p.metadata.name.as_deref() == Some(n) && p.metadata.uid.as_deref() == Some(u))
            });
            adopted
                && same
                && expected
                    .keys()
                    .all(|n| all.iter().any(|p| p.metadata.name.as_deref() == Some(n)))
        });
        let pods = tokio::select! {
            r = tokio::time::timeout(self.args.timeout, pods) => match r {
                Ok(r) => r?,
                Err(_) => return Err(self.adoption_timeout(uid).await),
            },
            () = crate::interrupt::ctrl_c() => return Err(self.interrupted("while the new StatefulSet adopts its pods")),
        };
        self.outcome.adopted_pods = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
        let revs = self.watch_until::<ControllerRevision>(&selector, |all: &[ControllerRevision]| {
            !all.is_empty()
                && all
                    .iter()
                    .all(|r| owned_by(r.metadata.owner_references.as_deref(), uid))
        });
        let revs = tokio::select! {
            r = tokio::time::timeout(self.args.timeout, revs) => r.map_err(|_| self.stopped(ErrorKind::TimedOut, "the new StatefulSet has not adopted its ControllerRevisions"))??,
            () = crate::interrupt::ctrl_c() => return Err(self.interrupted("while the new StatefulSet adopts its revisions")),
        };
        self.outcome.adopted_revisions = revs.iter().filter_map(|r| r.metadata.name.clone()).collect();
        let api: Api<StatefulSet> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let settled = await_condition(api, &self.name, |s: Option<&StatefulSet>| {
            s.and_then(|s| s.status.as_ref())
                .is_some_and(|st| st.update_revision.is_some())
        });
        if let Ok(Ok(Some(s))) = tokio::time::timeout(self.args.timeout, settled).await {
            self.outcome.revision_after = s.status.and_then(|st| st.update_revision);
        }
        Ok(())
    }

    /// Watch objects of kind K matching `selector` until `done` holds for all of them.
    async fn watch_until<K>(&self, selector: &str, done: impl Fn(&[K]) -> bool) -> Result<Vec<K>>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + Send
            + 'static,
        <K as kube::Resource>::DynamicType: Default + Eq + std::hash::Hash + Clone,
    {
        let api: Api<K> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let mut stream = watcher(api, watcher::Config::default().labels(selector))
            .default_backoff()
            .boxed();
        let mut seen: BTreeMap<String, K> = BTreeMap::new();
        let mut init: Option<BTreeMap<String, K>> = None;
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::Init)) => init = Some(BTreeMap::new()),
                Ok(Some(watcher::Event::InitApply(o))) => {
                    if let Some(m) = init.as_mut() {
                        m.insert(o.meta().name.clone().unwrap_or_default(), o);
                    }
                }
                Ok(Some(watcher::Event::InitDone)) => seen = init.take().unwrap_or_default(),
                Ok(Some(watcher::Event::Apply(o))) => {
                    seen.insert(o.meta().name.clone().unwrap_or_default(), o);
                }
                Ok(Some(watcher::Event::Delete(o))) => {
                    seen.remove(o.meta().name.as_deref().unwrap_or(""));
                }
                Ok(None) => return Err(self.stopped(ErrorKind::Unreachable, "the watch ended")),
                Err(e) if self.kube.verbose > 0 => crate::errln!("watch error (retrying): {e}"),
                Err(_) => {}
            }
            if init.is_none() {
                let all: Vec<K> = seen.values().cloned().collect();
                if done(&all) {
                    return Ok(all);
                }
            }
        }
    }

    async fn adoption_timeout(&self, uid: &str) -> CliError {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let lp = kube::api::ListParams::default().labels(&selector_string(&self.sts_selector));
        let waiting = match api.list(&lp).await {
            Ok(l) => not_adopted(&l.items, uid).join(", "),
            Err(_) => "?".into(),
        };
        self.stopped(
            ErrorKind::TimedOut,
            &format!(
                "the new StatefulSet has not adopted pods {waiting} within {}",
                crate::model::duration::human_duration(self.args.timeout)
            ),
        )
    }
}

/// The authorizer's 403 (`... is forbidden: User "u" cannot update resource
/// "statefulsets" in API group "apps" ...`), not an admission plugin's.
fn is_rbac_denial(e: &kube::core::Status) -> bool {
    e.code == 403 && e.message.contains(" cannot update resource ")
}

fn owned_by(refs: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]>, uid: &str) -> bool {
    refs.unwrap_or_default()
        .iter()
        .any(|o| o.controller == Some(true) && o.uid == uid)
}
