//! Effective rights, assignments, folders and the access review, on both backends.

use super::*;
use crate::access::{FolderRole, Permission, Rights};
use crate::assignments::Grantee;
use crate::directory::User;

async fn user(store: &Store, name: &str, role: Role) -> User {
    let w = UserWrite {
        role,
        external_id: None,
        ..write(name)
    };
    store
        .provision_user(&w, &scim_actor(), &entry())
        .await
        .unwrap()
}

async fn group(store: &Store, name: &str, members: &[&User]) -> crate::directory::Group {
    let w = GroupWrite {
        display_name: name.into(),
        external_id: None,
        attributes: Default::default(),
        members: members.iter().map(|u| u.id).collect(),
    };
    store
        .create_group(&w, &scim_actor(), &entry())
        .await
        .unwrap()
}

fn event_types(events: &[DirectoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

crate::backend_tests! {
    async fn rights_are_the_union_of_direct_role_group_roles_and_folder_grants(store) {
        let ann = user(&store, "ann@example.com", Role::ConnectionManager).await;
        let bob = user(&store, "bob@example.com", Role::UnassignedUser).await;
        let auditors = group(&store, "Auditors", &[&ann, &bob]).await;
        assert_eq!(store.rights_of(&bob).await.unwrap(), Rights::of(Role::UnassignedUser));

        // Mapping the group gives its members the role and ends their sessions.
        let before = store.user(bob.id).await.unwrap().unwrap().sessions_valid_after;
        let previous = store.map_group_role(auditors.id, Some(Role::WorkflowsAuditor), &scim_actor(), &entry()).await.unwrap();
        assert_eq!(previous, Some(None));
        let bob = store.user(bob.id).await.unwrap().unwrap();
        assert!(bob.sessions_valid_after > before);
        assert_eq!(store.rights_of(&bob).await.unwrap().role(), Role::WorkflowsAuditor);
        let ann_rights = store.rights_of(&ann).await.unwrap();
        assert_eq!(ann_rights.roles(), &[Role::WorkflowsAuditor, Role::ConnectionManager]);
        assert!(ann_rights.allows(Permission::ViewConnections) && ann_rights.allows(Permission::ViewSystemLog));
        assert_eq!(event_types(&store.directory_events_about(auditors.id.0).await.unwrap()), vec!["group.created", "group.role_mapped"]);

        // Mapping it to the same role again changes nothing and writes nothing.
        store.map_group_role(auditors.id, Some(Role::WorkflowsAuditor), &scim_actor(), &entry()).await.unwrap();
        assert_eq!(store.directory_events_about(auditors.id.0).await.unwrap().len(), 2);

        // The Assignments view: Ann directly and through the group, Bob through it.
        let a = store.assignments().await.unwrap();
        let names: Vec<&str> = a.users.iter().map(|u| u.user_name.as_str()).collect();
        assert_eq!(names, vec!["ann@example.com", "bob@example.com"]);
        assert!(a.users[0].is_direct() && !a.users[1].is_direct());
        assert_eq!(a.users[1].via_groups[0].group_name, "Auditors");
        assert_eq!(a.groups.len(), 1);
        assert_eq!((a.groups[0].role, a.groups[0].members), (Role::WorkflowsAuditor, 2));

        // Leaving a mapped group takes the role away.
        let w = GroupWrite { display_name: "Auditors".into(), external_id: None, attributes: Default::default(), members: vec![ann.id] };
        store.update_group(auditors.id, None, &w, &scim_actor(), &entry()).await.unwrap();
        assert_eq!(store.rights_of(&bob).await.unwrap().role(), Role::UnassignedUser);

        // A folder grant through a group reaches its members; the strongest grant holds.
        let made = NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System);
        let folder = store.create_folder("HR", &made).await.unwrap();
        assert!(matches!(store.create_folder("hr", &made).await, Err(StoreError::Conflict { .. })));
        assert!(matches!(store.create_folder("  ", &made).await, Err(StoreError::Invalid(_))));
        let other = store.create_folder("Finance", &made).await.unwrap();
        let renamed = NewEntry::new(Action::FolderRename, Outcome::Success, Actor::System);
        assert!(matches!(store.rename_folder(other, "hr", &renamed).await, Err(StoreError::Conflict { .. })));
        assert!(store.rename_folder(other, "Finance & Payroll", &renamed).await.unwrap());
        assert!(!store.rename_folder(uuid::Uuid::now_v7(), "Nope", &renamed).await.unwrap());
        let names: Vec<String> = store.folders().await.unwrap().into_iter().map(|f| f.name).collect();
        assert_eq!(names, vec!["Finance & Payroll", "HR"]);
        // A flow moves into a folder that exists, and back to the top level.
        let flow = store.create_flow(&crate::flows::Flow::new("Onboard", "trigger.manual"), None, &Author::nobody("admin"), &NewEntry::new(Action::FlowCreate, Outcome::Success, Actor::System)).await.unwrap();
        let moved = NewEntry::new(Action::FlowMove, Outcome::Success, Actor::System);
        assert!(store.move_flow(flow.id, Some(folder), &moved).await.unwrap());
        assert_eq!(store.flow_summary(flow.id).await.unwrap().unwrap().folder, Some(folder));
        assert!(matches!(store.move_flow(flow.id, Some(uuid::Uuid::now_v7()), &moved).await, Err(StoreError::Invalid(_))));
        assert_eq!(store.flow_summary(flow.id).await.unwrap().unwrap().folder, Some(folder), "a refused move changes nothing");
        assert!(store.move_flow(flow.id, None, &moved).await.unwrap());
        assert!(!store.move_flow(crate::flows::FlowId::new(), None, &moved).await.unwrap());
        let logged: Vec<String> = store.recent_audit(3).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(logged, vec!["flow.move", "flow.move", "flow.create"]);
        store.delete_flow(flow.id, &made).await.unwrap();
        let grant = NewEntry::new(Action::FolderGrant, Outcome::Success, Actor::System);
        store.set_folder_grant(folder, &Grantee::Group { id: auditors.id, name: "Auditors".into() }, Some(FolderRole::Reader), &grant).await.unwrap();
        store.set_folder_grant(folder, &Grantee::User(ann.id), Some(FolderRole::Editor), &grant).await.unwrap();
        assert_eq!(store.rights_of(&ann).await.unwrap().in_folder(folder), Some(FolderRole::Editor));
        assert_eq!(store.rights_of(&bob).await.unwrap().in_folder(folder), None);
        // Replacing a grant keeps one per grantee.
        store.set_folder_grant(folder, &Grantee::User(ann.id), Some(FolderRole::Runner), &grant).await.unwrap();
        assert_eq!(store.folder_grants().await.unwrap().len(), 2);

        // The access review names every path, by user.
        let review = store.access_review().await.unwrap();
        let lines: Vec<(String, String, String)> = review.iter().map(|r| (r.user_name.clone(), r.right.clone(), r.through.clone())).collect();
        assert_eq!(lines, vec![
            ("ann@example.com".into(), "Connection Manager".into(), "direct".into()),
            ("ann@example.com".into(), "Workflows Auditor".into(), "group Auditors".into()),
            ("ann@example.com".into(), "Reader of folder HR".into(), "folder grant to group Auditors".into()),
            ("ann@example.com".into(), "Runner of folder HR".into(), "folder grant".into()),
        ]);

        // Unmapping ends the role for the members.
        assert_eq!(store.map_group_role(auditors.id, None, &scim_actor(), &entry()).await.unwrap(), Some(Some(Role::WorkflowsAuditor)));
        assert_eq!(store.rights_of(&ann).await.unwrap().roles(), &[Role::ConnectionManager]);
        assert_eq!(store.map_group_role(crate::directory::GroupId::new(), None, &scim_actor(), &entry()).await.unwrap(), None);
    }

    async fn converting_assignments_moves_direct_users_under_the_group(store) {
        let ann = user(&store, "ann@example.com", Role::WorkflowsAuditor).await;
        let bob = user(&store, "bob@example.com", Role::UnassignedUser).await;
        let team = group(&store, "Team", &[]).await;
        // Only to a mapped group.
        let err = store.convert_assignments(team.id, &[ann.id], &scim_actor(), &entry()).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        store.map_group_role(team.id, Some(Role::WorkflowsAuditor), &scim_actor(), &entry()).await.unwrap();
        // A user without a direct assignment refuses the whole conversion.
        let err = store.convert_assignments(team.id, &[ann.id, bob.id], &scim_actor(), &entry()).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert_eq!(store.user(ann.id).await.unwrap().unwrap().role, Role::WorkflowsAuditor);
        assert!(store.group(team.id).await.unwrap().unwrap().members.is_empty());

        assert_eq!(store.convert_assignments(team.id, &[ann.id], &scim_actor(), &entry()).await.unwrap(), 1);
        let ann = store.user(ann.id).await.unwrap().unwrap();
        assert_eq!(ann.role, Role::UnassignedUser);
        assert_eq!(store.rights_of(&ann).await.unwrap().role(), Role::WorkflowsAuditor);
        let events = store.directory_events_about(ann.id.0).await.unwrap();
        assert_eq!(event_types(&events), vec!["user.created", "user.added_to_group", "user.role_changed"]);
    }

    async fn one_super_admin_always_remains_and_provisioning_is_stamped(store) {
        let ada = user(&store, "ada@example.com", Role::SuperAdmin).await;
        let bob = user(&store, "bob@example.com", Role::UnassignedUser).await;
        assert_eq!(store.super_admins_left(SuperAdminPath::DirectRoleOf(ada.id)).await.unwrap(), 0);
        assert_eq!(store.super_admins_left(SuperAdminPath::User(bob.id)).await.unwrap(), 1);
        let admins = group(&store, "Admins", &[&bob]).await;
        store.map_group_role(admins.id, Some(Role::SuperAdmin), &scim_actor(), &entry()).await.unwrap();
        assert_eq!(store.super_admins_left(SuperAdminPath::DirectRoleOf(ada.id)).await.unwrap(), 1);
        assert_eq!(store.super_admins_left(SuperAdminPath::Group(admins.id)).await.unwrap(), 1);
        assert_eq!(store.super_admins_left(SuperAdminPath::User(ada.id)).await.unwrap(), 1);

        let stamped = store.resync_user(bob.id, &scim_actor(), &entry()).await.unwrap().unwrap();
        assert!(stamped.last_provisioned_at > bob.last_provisioned_at);
        let events = store.directory_events_about(bob.id.0).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.event_type, "user.provisioned");
        assert_eq!(last.changes[0].new, "super_admin");
        assert!(store.resync_user(crate::directory::UserId::new(), &scim_actor(), &entry()).await.unwrap().is_none());
    }
}
