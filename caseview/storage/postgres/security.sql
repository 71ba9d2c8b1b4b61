-- Who may do what in a team's Caseview database, enforced by PostgreSQL itself: every
-- worker's machine holds credentials, so anyone may connect with psql, and must be able
-- to do no more there than in Caseview.
--
-- Runs after schema.sql, in the same transaction, as the database owner (who needs
-- CREATEROLE). Written for psql: :"worker" is an identifier and :'worker' a literal,
-- both filled in by install.py (or `psql -v worker=... -v database=... -f security.sql`):
--   database                      this database
--   prefix, login_prefix          e.g. cv_team and cv_team_u_ (roles are cluster-wide)
--   worker, manager, auditor      the group roles, e.g. cv_team_worker
--
-- The design:
-- * One NOLOGIN group role per Caseview role; one LOGIN role per person, member of
--   exactly one group, named login_prefix || username. caseview_username() maps the
--   session's login role back to users.username; caseview_user_id() to users.id (NULL
--   once the account is switched off, which stops every write and read of case data).
-- * Grants give each group only the statements Caseview issues. No group may UPDATE or
--   DELETE the audit log, blobs, sources, their artefacts, reviews, person links, the
--   browse logs, observations or notes; the triggers of schema.sql refuse it even to
--   the owner, as a second line.
-- * Row-level security (ENABLE + FORCE) limits a worker to the cases allocated to them;
--   managers and auditors see every row (while their account is switched on); the
--   owner's own policy keeps it able to install and migrate.
-- * Identity: every column that names who did something must name the signed-in user,
--   and an audit event's actor must be them, so nobody acts as someone else.
-- * Functions that must see past row-level security (the chain head, allocation, the
--   checks of other tables) are SECURITY DEFINER, owned by the owner, with a fixed
--   search_path. Identity always comes from session_user, which SECURITY DEFINER does
--   not change.

-- ---- roles ----------------------------------------------------------------------------

CREATE ROLE :"worker" NOLOGIN;
CREATE ROLE :"manager" NOLOGIN;
CREATE ROLE :"auditor" NOLOGIN;

-- Nobody else reaches this database; temporary tables are refused (they could shadow
-- Caseview's tables in a careless search_path).
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"worker", :"manager", :"auditor";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE TABLE caseview_roles (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    prefix text COLLATE "C" NOT NULL,
    login_prefix text COLLATE "C" NOT NULL,
    worker_role text COLLATE "C" NOT NULL,
    manager_role text COLLATE "C" NOT NULL,
    auditor_role text COLLATE "C" NOT NULL,
    owner_role text COLLATE "C" NOT NULL DEFAULT current_user
);
INSERT INTO caseview_roles (prefix, login_prefix, worker_role, manager_role, auditor_role)
VALUES (:'prefix', :'login_prefix', :'worker', :'manager', :'auditor');
CREATE TRIGGER caseview_roles_fixed BEFORE UPDATE OR DELETE ON caseview_roles
FOR EACH ROW EXECUTE FUNCTION caseview_refuse('caseview_roles is fixed at installation');

-- ---- who is signed in -----------------------------------------------------------------

-- The Caseview user name of the session's login role; NULL for any other role (the
-- owner). session_user, not current_user: a SECURITY DEFINER function changes the
-- latter, and no Caseview role may SET SESSION AUTHORIZATION.
--
-- These three run in every policy, trigger and append, many times a statement, so
-- they are PL/pgSQL, whose plans are kept for the session (an SQL function's body is
-- planned again in every statement that calls it), and carry no SET search_path (a
-- configuration change on every call): they name every table and function with its
-- schema instead. They run as the caller, and no Caseview role can create anything (no
-- CREATE on the schema or the database, no temporary tables) that could stand in for
-- what they name.
CREATE FUNCTION caseview_username() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT pg_catalog.substr(session_user::text,
                                     pg_catalog.length(r.login_prefix) + 1)
            FROM public.caseview_roles r
            WHERE pg_catalog.starts_with(session_user::text, r.login_prefix)
              AND pg_catalog.length(session_user::text) > pg_catalog.length(r.login_prefix));
END
$$;

-- users.id of the signed-in person, while their account is switched on.
CREATE FUNCTION caseview_user_id() RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT u.id FROM public.users u
            WHERE u.username = public.caseview_username() AND u.active = 1);
END
$$;

-- 'worker', 'manager' or 'auditor': the group of the session's login role.
CREATE FUNCTION caseview_group() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT CASE
        WHEN pg_catalog.pg_has_role(session_user, r.auditor_role, 'MEMBER') THEN 'auditor'
        WHEN pg_catalog.pg_has_role(session_user, r.worker_role, 'MEMBER') THEN 'worker'
        WHEN pg_catalog.pg_has_role(session_user, r.manager_role, 'MEMBER') THEN 'manager'
    END
    FROM public.caseview_roles r
    WHERE public.caseview_username() IS NOT NULL);
END
$$;

-- The cases allocated to the signed-in person. SECURITY DEFINER so that the policy on
-- case_members can use it without recursing into itself. (PL/pgSQL, as the three above.)
CREATE FUNCTION caseview_allocated_cases() RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT m.case_id FROM case_members m WHERE m.user_id = caseview_user_id();
END
$$;

-- Whether a person (users.id, group) may write about a case: a worker only about their
-- own. The one definition of the rule, for callers that know who is signed in already.
CREATE FUNCTION caseview_may_write_case_as(case_id bigint, user_id bigint, member_of text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN member_of IN ('manager', 'auditor')
        OR EXISTS (SELECT 1 FROM case_members m
                   WHERE m.case_id = caseview_may_write_case_as.case_id
                     AND m.user_id = caseview_may_write_case_as.user_id);
END
$$;

-- Whether the signed-in person may write about this case (the owner may write anything).
CREATE FUNCTION caseview_may_write_case(case_id bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN caseview_username() IS NULL
        OR caseview_may_write_case_as(case_id, caseview_user_id(), caseview_group());
END
$$;

-- Whether a case exists, whoever may see it: a worker asking for a case not allocated
-- to them is told so (as on a case file) rather than that there is no such case. It
-- tells nothing else about the case.
CREATE FUNCTION caseview_case_exists(case_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)
$$;

-- The case a subject, source, observation or request belongs to, whoever may see it
-- (for the same reason: "not allocated to you" rather than "no such thing").
CREATE FUNCTION caseview_case_of(kind text, item_id bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT CASE kind
        WHEN 'subject' THEN (SELECT s.case_id FROM subjects s WHERE s.id = item_id)
        WHEN 'source' THEN (SELECT s.case_id FROM sources s WHERE s.id = item_id)
        WHEN 'observation' THEN (SELECT o.case_id FROM observations o WHERE o.id = item_id)
        WHEN 'justification' THEN (SELECT j.case_id FROM justifications j WHERE j.id = item_id)
    END
$$;

-- The id of the case with this reference, whoever may see it (for the same reason).
CREATE FUNCTION caseview_case_by_reference(case_reference text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT c.id FROM cases c WHERE c.reference = case_reference
$$;

CREATE FUNCTION caseview_refuse_identity(message text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'insufficient_privilege';
END
$$;

-- ---- every "who" column is the signed-in user -----------------------------------------

-- TG_ARGV[0] names the column; TG_ARGV[1] = 'or null' lets it be empty. For the owner
-- (installing, migrating) nothing is checked.
CREATE FUNCTION caseview_column_is_caller() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    given bigint;
    me bigint;
BEGIN
    IF caseview_username() IS NULL THEN
        RETURN NEW;
    END IF;
    me := caseview_user_id();
    IF me IS NULL THEN
        PERFORM caseview_refuse_identity(format(
            '%s: %s is not an active Caseview user', TG_TABLE_NAME, caseview_username()));
    END IF;
    EXECUTE format('SELECT ($1).%I::bigint', TG_ARGV[0]) USING NEW INTO given;
    IF given IS NULL AND TG_ARGV[1] IS NOT DISTINCT FROM 'or null' THEN
        RETURN NEW;
    END IF;
    IF given IS DISTINCT FROM me THEN
        PERFORM caseview_refuse_identity(format(
            '%s.%s must be the signed-in user (%s)', TG_TABLE_NAME, TG_ARGV[0],
            caseview_username()));
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER cases_created_by_is_the_caller BEFORE INSERT ON cases
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('created_by');
CREATE TRIGGER case_members_allocated_by_is_the_caller BEFORE INSERT ON case_members
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('allocated_by');
CREATE TRIGGER subjects_created_by_is_the_caller BEFORE INSERT ON subjects
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('created_by');
CREATE TRIGGER users_created_by_is_the_caller BEFORE INSERT ON users
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('created_by');
CREATE TRIGGER policies_set_by_is_the_caller BEFORE INSERT ON policies
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('set_by');
CREATE TRIGGER policies_confirmed_by_is_the_caller
BEFORE INSERT OR UPDATE OF confirmed_by ON policies
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('confirmed_by', 'or null');
CREATE TRIGGER justifications_author_id_is_the_caller BEFORE INSERT ON justifications
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('author_id');
CREATE TRIGGER justification_editors_user_id_is_the_caller
BEFORE INSERT ON justification_editors
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('user_id');
-- Self-approval: the reviewer is the signed-in manager, who is not the author (CHECK)
-- and did not edit the request (trigger of schema.sql).
CREATE TRIGGER reviews_reviewer_id_is_the_caller BEFORE INSERT ON reviews
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('reviewer_id');
CREATE TRIGGER return_answers_answered_by_is_the_caller
BEFORE INSERT OR UPDATE OF answered_by ON return_answers
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('answered_by');
CREATE TRIGGER viewings_user_id_is_the_caller BEFORE INSERT ON viewings
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('user_id');
CREATE TRIGGER sources_captured_by_is_the_caller BEFORE INSERT ON sources
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('captured_by');
CREATE TRIGGER exposure_findings_reviewed_by_is_the_caller
BEFORE INSERT OR UPDATE OF reviewed_by ON exposure_findings
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('reviewed_by', 'or null');
CREATE TRIGGER observations_author_id_is_the_caller BEFORE INSERT ON observations
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('author_id');
CREATE TRIGGER notes_author_id_is_the_caller BEFORE INSERT ON notes
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('author_id');
CREATE TRIGGER authorisations_recorded_by_is_the_caller BEFORE INSERT ON authorisations
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('recorded_by');
CREATE TRIGGER authorisations_confirmed_by_is_the_caller
BEFORE INSERT OR UPDATE OF confirmed_by ON authorisations
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('confirmed_by', 'or null');
CREATE TRIGGER person_links_linked_by_is_the_caller BEFORE INSERT ON person_links
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('linked_by');
CREATE TRIGGER browse_sessions_user_id_is_the_caller BEFORE INSERT ON browse_sessions
FOR EACH ROW EXECUTE FUNCTION caseview_column_is_caller('user_id');

-- ---- a request's life: only the author submits, only a review decides -----------------

-- Closes what column grants alone would leave open to psql: inserting a request already
-- approved, approving by UPDATE without a review, changing a draft without being
-- recorded as one of its writers (who may then not review it).
CREATE FUNCTION caseview_justification_rules() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    signed_in boolean := caseview_username() IS NOT NULL;
    me bigint := caseview_user_id();
    latest reviews%ROWTYPE;
    decision text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF signed_in AND (NEW.status <> 'draft' OR NEW.content_hash IS NOT NULL
                OR NEW.submitted_at IS NOT NULL OR NEW.decided_at IS NOT NULL
                OR NEW.authorised_by IS NOT NULL) THEN
            PERFORM caseview_refuse_identity(
                'justifications: a request starts as a draft, undecided');
        END IF;
        RETURN NEW;
    END IF;
    IF signed_in AND me IS NULL THEN
        PERFORM caseview_refuse_identity(format(
            'justifications: %s is not an active Caseview user', caseview_username()));
    END IF;
    IF signed_in AND OLD.status = 'draft'
       AND (NEW.content, NEW.emergency, NEW.valid_until)
           IS DISTINCT FROM (OLD.content, OLD.emergency, OLD.valid_until)
       AND NOT EXISTS (SELECT 1 FROM justification_editors e
                       WHERE e.justification_id = OLD.id AND e.user_id = me) THEN
        PERFORM caseview_refuse_identity(
            'justifications: whoever changes a draft is first recorded as its editor');
    END IF;
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'submitted' THEN
        IF OLD.status <> 'draft' OR (signed_in AND OLD.author_id <> me) THEN
            PERFORM caseview_refuse_identity(
                'justifications: only its author submits a request, and only a draft');
        END IF;
    ELSIF NEW.status IN ('approved', 'rejected', 'returned') THEN
        SELECT * INTO latest FROM reviews r WHERE r.justification_id = OLD.id
        ORDER BY r.id DESC LIMIT 1;
        decision := CASE NEW.status WHEN 'approved' THEN 'approve'
                                    WHEN 'rejected' THEN 'reject' ELSE 'return' END;
        IF OLD.status <> 'submitted' OR latest.id IS NULL
           OR latest.decision IS DISTINCT FROM decision
           OR latest.content_hash IS DISTINCT FROM OLD.content_hash
           OR (signed_in AND latest.reviewer_id <> me) THEN
            PERFORM caseview_refuse_identity(
                'justifications: a submitted request is decided only by its reviewer''s '
                'review, recorded first');
        END IF;
    ELSIF NEW.status = 'cancelled' THEN
        IF OLD.status IN ('cancelled', 'rejected')
           OR (signed_in AND caseview_group() <> 'manager' AND OLD.author_id <> me) THEN
            PERFORM caseview_refuse_identity(
                'justifications: only its author or a manager cancels a request');
        END IF;
    ELSE
        PERFORM caseview_refuse_identity(format(
            'justifications: a request never becomes %s again', NEW.status));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER justifications_rules BEFORE INSERT OR UPDATE ON justifications
FOR EACH ROW EXECUTE FUNCTION caseview_justification_rules();

-- ---- the audit log: serialised appends, each by its own actor -------------------------

-- The head of the chain, taking the append lock first (held until the transaction
-- ends): call it, build the next event from it, insert. Every role may call it; it
-- tells nothing about any case.
CREATE FUNCTION caseview_audit_head(OUT seq bigint, OUT hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(caseview_audit_lock_key());
    SELECT a.seq, a.hash INTO seq, hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    IF seq IS NULL THEN
        seq := 0;
        hash := repeat('0', 64);
    END IF;
END
$$;

-- Who may append what: the signed-in person, as the event's actor, about a case they
-- may write about (a refused look about any case: see caseview_record_refused_look); an
-- auditor only their sign-ins, verifications, exports and refusals. With event_seq,
-- the payload must carry it. Called once per event, before the append lock is taken,
-- by the append functions below; the trigger after them checks any other INSERT.
CREATE FUNCTION caseview_check_event(event_seq bigint, event_payload text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
-- Who is signed in, their account, group and allocation come from the functions above
-- (one definition each); the payload is parsed once, its fields read as the generated
-- columns read them (NULL unless a JSON object holds them). Each is asked once: every
-- event passes here, and asking again had cost an append more than its insert.
DECLARE
    me text := caseview_username();
    my_id bigint;
    my_group text;
    event jsonb;
    actor text;
    action text;
    about bigint;
BEGIN
    IF me IS NULL THEN
        RETURN;  -- the owner: installing, or copying a case file's chain verbatim
    END IF;
    my_id := caseview_user_id();
    IF my_id IS NULL THEN
        PERFORM caseview_refuse_identity(format(
            'audit_log: %s is not an active Caseview user', me));
    END IF;
    BEGIN
        event := event_payload::jsonb;
    EXCEPTION WHEN others THEN
        event := NULL;
    END;
    IF jsonb_typeof(event) IS DISTINCT FROM 'object' THEN
        PERFORM caseview_refuse_identity('audit_log: an event''s payload is a JSON object');
    END IF;
    IF event_seq IS NOT NULL
       AND caseview_payload_bigint(event_payload, 'seq') IS DISTINCT FROM event_seq THEN
        PERFORM caseview_refuse_identity('audit_log: the payload''s seq must be the event''s');
    END IF;
    actor := event ->> 'actor';
    action := event ->> 'action';
    -- notice_overdue records a lapse as 'system', naming who noticed it.
    IF actor IS DISTINCT FROM me AND NOT (
            actor = 'system'
            AND action = 'justification.overdue'
            AND jsonb_typeof(event -> 'data') = 'object'
            AND event -> 'data' ->> 'noticed_by' = me) THEN
        PERFORM caseview_refuse_identity(format(
            'audit_log: an event''s actor must be the signed-in user (%s)', me));
    END IF;
    my_group := caseview_group();
    IF my_group = 'auditor'
       AND action !~ '^(login|integrity\.verified|export\.[a-z_]+|viewing\.refused)$' THEN
        PERFORM caseview_refuse_identity(
            'audit_log: an auditor records only sign-ins, verifications, exports and refusals');
    END IF;
    IF jsonb_typeof(event -> 'case_id') = 'number'
       AND (event ->> 'case_id') ~ '^-?[0-9]{1,18}$' THEN
        about := (event ->> 'case_id')::bigint;
    END IF;
    -- A refused look is recorded whatever case it named (see caseview_record_refused_look).
    IF about IS NOT NULL AND action IS DISTINCT FROM 'viewing.refused'
       AND NOT caseview_may_write_case_as(about, my_id, my_group) THEN
        PERFORM caseview_refuse_identity(format(
            'audit_log: case %s is not allocated to %s', about, me));
    END IF;
END
$$;

-- The second line, for an INSERT made any other way (a worker's or manager's own, with
-- psql). The append functions run as the owner and have checked already; the owner's
-- own inserts (installing, migrating) are not checked.
CREATE FUNCTION caseview_audit_log_actor_is_caller() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM caseview_check_event(NEW.seq, NEW.payload);
    RETURN NEW;
END
$$;
DO $do$
BEGIN
    EXECUTE format($trigger$
        CREATE TRIGGER audit_log_actor_is_the_caller BEFORE INSERT ON audit_log
        FOR EACH ROW WHEN (current_user <> %L)
        EXECUTE FUNCTION caseview_audit_log_actor_is_caller()$trigger$, current_user);
END
$do$;

-- Whether an event is news to the open windows (see caseview_notify_change below):
-- sign-ins change nothing a window shows.
CREATE FUNCTION caseview_tells_others(action text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT action IS DISTINCT FROM 'login' AND action IS DISTINCT FROM 'login.failed'
$$;

-- How Caseview appends an event: in one call, so the append lock is held for the
-- shortest time. The caller sends the event without its seq (a JSON object in
-- canonical form, every key sorting before "seq"); here, under the lock, it gets the
-- next seq as its last key, the head's hash as its prev_hash, and its own hash. Every
-- role may call it (an auditor has no INSERT on audit_log, yet their sign-ins, checks
-- and exports are events too); caseview_check_event says what each may record. Taking
-- the lock here also serialises a single-statement append made outside a transaction.
CREATE FUNCTION caseview_append_event(
    event_body text, OUT event_seq bigint, OUT event_hash text
)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    event jsonb;
    prev text;
    payload text;
BEGIN
    BEGIN
        event := event_body::jsonb;
    EXCEPTION WHEN others THEN
        event := NULL;
    END;
    IF event_body !~ '^[{].*[}]$' OR jsonb_typeof(event) IS DISTINCT FROM 'object'
       OR event ? 'seq' THEN
        PERFORM caseview_refuse_identity(
            'audit_log: an event is a JSON object without its seq, which is added here');
    END IF;
    PERFORM caseview_check_event(NULL, event_body);
    PERFORM pg_advisory_xact_lock(caseview_audit_lock_key());
    SELECT a.seq, a.hash INTO event_seq, prev FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    event_seq := coalesce(event_seq, 0) + 1;
    prev := coalesce(prev, repeat('0', 64));
    payload := CASE WHEN event_body = '{}' THEN '{' ELSE left(event_body, -1) || ',' END
        || '"seq":' || event_seq || '}';
    event_hash := encode(sha256(convert_to(prev || payload, 'UTF8')), 'hex');
    PERFORM set_config('caseview.appended', event_seq::text, true);  -- see schema.sql
    INSERT INTO audit_log (seq, payload, prev_hash, hash)
    VALUES (event_seq, payload, prev, event_hash);
    IF caseview_tells_others(event ->> 'action') THEN
        PERFORM pg_notify('caseview', '');
    END IF;
END
$$;

-- Appending an event numbered and hashed by the caller (the tests' forgeries, and
-- anything that must write exact bytes). Checked as any other.
CREATE FUNCTION caseview_append_audit(
    event_seq bigint, event_payload text, event_prev_hash text, event_hash text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM caseview_check_event(event_seq, event_payload);
    -- This runs as the owner too: a mark the caller set (caseview.appended, which any
    -- role may set) must not let its event past the chain's check (schema.sql).
    PERFORM set_config('caseview.appended', '', true);
    INSERT INTO audit_log (seq, payload, prev_hash, hash)
    VALUES (event_seq, event_payload, event_prev_hash, event_hash);
    IF caseview_tells_others(caseview_payload_text(event_payload, 'action')) THEN
        PERFORM pg_notify('caseview', '');
    END IF;
END
$$;

-- A refused look is recorded against whoever was refused, whatever case, person or
-- request they named: an unallocated worker's attempt, or an auditor's, is evidence
-- too, though neither may otherwise write about the case. Only refusals, only as the
-- signed-in person, and nothing is read back.
CREATE FUNCTION caseview_record_refused_look(
    look_case_id bigint, look_subject_id bigint, look_justification_id bigint,
    look_user_id bigint, look_at text, look_url text, look_kind text, look_rule text,
    look_message text
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    new_id bigint;
BEGIN
    IF look_user_id IS DISTINCT FROM caseview_user_id() THEN
        PERFORM caseview_refuse_identity(
            'viewings: a refused look is recorded as the signed-in user');
    END IF;
    INSERT INTO viewings (case_id, subject_id, justification_id, user_id, at, url, kind,
                          outcome, rule, message, source_id)
    VALUES (look_case_id, look_subject_id, look_justification_id, look_user_id, look_at,
            look_url, look_kind, 'refused', look_rule, look_message, NULL)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

-- ---- login roles, managed by managers --------------------------------------------------

-- Managers add people, change their role, switch them off and reset passwords, which
-- needs CREATEROLE: they do it through these functions, run as the owner, which only
-- ever touch Caseview's own login roles and groups. Passwords arrive as SCRAM
-- verifiers computed by the client, never in clear.

CREATE FUNCTION caseview_login_role(username text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    login text := (SELECT r.login_prefix FROM caseview_roles r) || username;
BEGIN
    IF username IS NULL OR username !~ '^[a-z0-9][a-z0-9._-]{0,63}$'
       OR octet_length(login) > 63 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%L cannot be a Caseview user name on this server', username);
    END IF;
    RETURN login;
END
$$;

CREATE FUNCTION caseview_group_role(caseview_role text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    found text;
BEGIN
    SELECT CASE caseview_role WHEN 'worker' THEN r.worker_role
                              WHEN 'manager' THEN r.manager_role
                              WHEN 'auditor' THEN r.auditor_role END
    INTO found FROM caseview_roles r;
    IF found IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%L is not a role: use worker, manager or auditor', caseview_role);
    END IF;
    RETURN found;
END
$$;

-- Refuses unless the caller is the owner or a manager (acting on someone else, when
-- others_only), and the login exists as one of Caseview's.
CREATE FUNCTION caseview_check_account_manager(username text, others_only boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    login text := caseview_login_role(username);
BEGIN
    IF session_user::text <> (SELECT r.owner_role FROM caseview_roles r) THEN
        IF caseview_group() IS DISTINCT FROM 'manager' OR caseview_user_id() IS NULL THEN
            PERFORM caseview_refuse_identity(
                'only a manager adds people, changes roles or switches accounts off');
        END IF;
        IF others_only AND username = caseview_username() THEN
            PERFORM caseview_refuse_identity(
                'you cannot do this to your own account: ask another manager');
        END IF;
    END IF;
    RETURN login;
END
$$;

CREATE FUNCTION caseview_is_login(login text) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_auth_members m
        JOIN pg_roles member ON member.oid = m.member
        JOIN pg_roles grp ON grp.oid = m.roleid
        CROSS JOIN caseview_roles r
        WHERE member.rolname = login
          AND grp.rolname IN (r.worker_role, r.manager_role, r.auditor_role))
$$;

CREATE FUNCTION caseview_check_verifier(verifier text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF verifier IS NULL OR verifier !~ '^SCRAM-SHA-256\$[0-9]+:' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'give the password as a SCRAM-SHA-256 verifier, never in clear';
    END IF;
END
$$;

-- A person's login follows their users row: Caseview changes the row first (with its
-- audit event), then the login, in one transaction. So a manager's group or sign-in
-- for someone with a row must be what the row says; otherwise a manager with psql could
-- give a "worker" a manager's powers, or let a switched-off account sign in, with
-- nothing in the log and the row still saying otherwise. A login with no row reads and
-- writes nothing (caseview_user_id() is NULL). The owner (migrating) is not held to it.
CREATE FUNCTION caseview_check_login_follows_row(
    username text, caseview_role text, enabled boolean
) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    row_role text;
    row_active integer;
BEGIN
    IF session_user::text = (SELECT r.owner_role FROM caseview_roles r) THEN
        RETURN;
    END IF;
    SELECT u.role, u.active INTO row_role, row_active
    FROM users u WHERE u.username = caseview_check_login_follows_row.username;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF (caseview_role IS NOT NULL AND row_role IS DISTINCT FROM caseview_role)
       OR (enabled IS NOT NULL AND (row_active = 1) IS DISTINCT FROM enabled) THEN
        PERFORM caseview_refuse_identity(format(
            '%s''s login follows their users row (%s, %s): change the row first, with its'
            ' audit event', username, row_role,
            CASE WHEN row_active = 1 THEN 'switched on' ELSE 'switched off' END));
    END IF;
END
$$;

CREATE FUNCTION caseview_create_login(username text, verifier text, caseview_role text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    login text := caseview_check_account_manager(username, false);
    grp text := caseview_group_role(caseview_role);
BEGIN
    PERFORM caseview_check_verifier(verifier);
    PERFORM caseview_check_login_follows_row(username, caseview_role, NULL);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
            MESSAGE = format('there is already a login for %L', username);
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE'
                   ' NOREPLICATION NOBYPASSRLS PASSWORD %L IN ROLE %I',
                   login, verifier, grp);
END
$$;

CREATE FUNCTION caseview_set_group(username text, caseview_role text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    login text := caseview_check_account_manager(username, true);
    grp text := caseview_group_role(caseview_role);
    old text;
BEGIN
    IF NOT caseview_is_login(login) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('there is no login for %L', username);
    END IF;
    PERFORM caseview_check_login_follows_row(username, caseview_role, NULL);
    FOR old IN
        SELECT g.rolname FROM pg_auth_members m
        JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        CROSS JOIN caseview_roles r
        WHERE u.rolname = login AND g.rolname IN (r.worker_role, r.manager_role, r.auditor_role)
          AND g.rolname <> grp
    LOOP
        EXECUTE format('REVOKE %I FROM %I', old, login);
    END LOOP;
    IF NOT pg_has_role(login, grp, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', grp, login);
    END IF;
END
$$;

CREATE FUNCTION caseview_set_login_enabled(username text, enabled boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    login text := caseview_check_account_manager(username, true);
BEGIN
    IF NOT caseview_is_login(login) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('there is no login for %L', username);
    END IF;
    PERFORM caseview_check_login_follows_row(username, NULL, enabled);
    EXECUTE format('ALTER ROLE %I %s', login, CASE WHEN enabled THEN 'LOGIN' ELSE 'NOLOGIN' END);
END
$$;

-- Anyone may set their own password; a manager (or the owner) anyone else's.
CREATE FUNCTION caseview_set_password(username text, verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    login text := caseview_login_role(username);
BEGIN
    IF username IS DISTINCT FROM caseview_username() THEN
        PERFORM caseview_check_account_manager(username, true);
    END IF;
    PERFORM caseview_check_verifier(verifier);
    IF NOT caseview_is_login(login) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('there is no login for %L', username);
    END IF;
    -- A new password is a way in as that person: it is set only just after its audit
    -- event (a reset by a manager, or a change by the person), appended last in this
    -- transaction, so nobody can sign in as someone else unseen. The owner (migrating)
    -- is not held to it.
    IF session_user::text IS DISTINCT FROM (SELECT r.owner_role FROM caseview_roles r)
       AND NOT EXISTS (
           SELECT 1 FROM audit_log a JOIN users u ON u.id = a.entity_id
           WHERE a.seq = NULLIF(current_setting('caseview.appended', true), '')::bigint
             AND a.entity = 'user' AND u.username = caseview_set_password.username
             AND a.action IN ('user.password_reset', 'user.password_changed')) THEN
        PERFORM caseview_refuse_identity(format(
            'a password is set only just after its audit event (user.password_reset or '
            'user.password_changed for %s), recorded first in the same transaction',
            username));
    END IF;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', login, verifier);
END
$$;

-- ---- grants -----------------------------------------------------------------------------

-- Functions: nobody but those named below (PostgreSQL grants EXECUTE to PUBLIC).
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'caseview\_%'
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION
    caseview_username(), caseview_user_id(), caseview_group(), caseview_allocated_cases(),
    caseview_may_write_case(bigint), caseview_case_exists(bigint),
    caseview_case_of(text, bigint), caseview_case_by_reference(text),
    caseview_refuse_identity(text),
    caseview_payload_text(text, text), caseview_payload_bigint(text, text),
    caseview_is_date(text), caseview_audit_lock_key(), caseview_audit_head(),
    caseview_append_audit(bigint, text, text, text), caseview_append_event(text),
    caseview_check_event(bigint, text), caseview_tells_others(text),
    caseview_set_password(text, text),
    caseview_record_refused_look(bigint, bigint, bigint, bigint, text, text, text, text, text)
TO :"worker", :"manager", :"auditor";
GRANT EXECUTE ON FUNCTION
    caseview_create_login(text, text, text), caseview_set_group(text, text),
    caseview_set_login_enabled(text, boolean)
TO :"manager";

-- Reading: everyone reads every table; row-level security below decides which rows.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"worker", :"manager", :"auditor";

-- Adding rows: never the id (identity) columns, so nobody can take the ids the
-- sequences will hand out; never the generated ones. A DO block lists the columns.
CREATE FUNCTION caseview_grant_insert(grantee text, VARIADIC tables text[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    name text;
    columns text;
BEGIN
    FOREACH name IN ARRAY tables LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO columns
        FROM pg_attribute a
        WHERE a.attrelid = format('public.%I', name)::regclass AND a.attnum > 0
          AND NOT a.attisdropped AND a.attidentity = '' AND a.attgenerated = '';
        EXECUTE format('GRANT INSERT (%s) ON %I TO %I', columns, name, grantee);
    END LOOP;
END
$$;
-- Both groups that add to cases (the worker's list); managers also run the team.
SELECT caseview_grant_insert(role_name, 'subjects', 'justifications', 'justification_editors',
    'return_answers', 'viewings', 'blobs', 'sources', 'exposure_findings', 'observations',
    'notes', 'browse_sessions', 'browse_pages', 'browse_requests', 'source_artefacts',
    'audit_log', 'search_index')
FROM unnest(ARRAY[:'worker', :'manager']) AS role_name;
SELECT caseview_grant_insert(:'manager', 'users', 'cases', 'case_members', 'policies',
    'reviews', 'authorisations', 'person_links');
DROP FUNCTION caseview_grant_insert(text, text[]);

-- Changing rows: only the columns Caseview's services change (storage/*.py).
GRANT UPDATE (content, emergency, valid_until, updated_at,          -- a draft is edited
              status, content_hash, submitted_at, cancel_reason,    -- submit, cancel
              overdue_flagged_at)                                   -- notice_overdue
    ON justifications TO :"worker", :"manager";
GRANT UPDATE (decided_at) ON justifications TO :"manager";          -- review
GRANT UPDATE (root_id) ON observations TO :"worker", :"manager";    -- set once, on insert
GRANT UPDATE (ended_at, end_reason) ON browse_sessions TO :"worker", :"manager";
GRANT UPDATE (confirmed, reviewed_by, reviewed_at) ON exposure_findings
    TO :"worker", :"manager";
GRANT UPDATE (status, closed_at) ON cases TO :"manager";            -- close, reopen
GRANT UPDATE (active, role) ON users TO :"manager";                 -- switch off, role
GRANT UPDATE (confirmed_by, confirmed_at) ON authorisations TO :"manager";
GRANT UPDATE (status, confirmed_by, confirmed_at) ON policies TO :"manager";

-- Removing rows: a draft's return answers are replaced, an item is indexed again, a
-- worker is taken off a case. Nothing else is ever deleted.
GRANT DELETE ON return_answers, search_index TO :"worker", :"manager";
GRANT DELETE ON case_members TO :"manager";

-- ---- row-level security -----------------------------------------------------------------

-- Every table holding case data. users, policies, schema_version and caseview_roles
-- hold none, and everyone reads them.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['cases', 'case_members', 'subjects', 'justifications',
        'justification_editors', 'reviews', 'return_answers', 'viewings', 'sources',
        'exposure_findings', 'observations', 'notes', 'authorisations', 'browse_sessions',
        'browse_pages', 'browse_requests', 'source_artefacts', 'audit_log', 'search_index',
        'blobs', 'person_links']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        -- The owner installs, migrates and runs the SECURITY DEFINER functions.
        EXECUTE format('CREATE POLICY owner_all ON %I TO CURRENT_USER'
                       ' USING (true) WITH CHECK (true)', name);
        -- Managers and auditors: every row, while their account is switched on.
        EXECUTE format('CREATE POLICY manager_all ON %I TO %I'
                       ' USING ((SELECT caseview_user_id()) IS NOT NULL)'
                       ' WITH CHECK ((SELECT caseview_user_id()) IS NOT NULL)',
                       name, (SELECT manager_role FROM caseview_roles));
        EXECUTE format('CREATE POLICY auditor_reads ON %I FOR SELECT TO %I'
                       ' USING ((SELECT caseview_user_id()) IS NOT NULL)',
                       name, (SELECT auditor_role FROM caseview_roles));
    END LOOP;
END
$$;

-- A worker: the rows of the cases allocated to them. Written out table by table.
CREATE POLICY worker_allocated ON cases TO :"worker"
    USING (id IN (SELECT caseview_allocated_cases()));
CREATE POLICY worker_allocated ON case_members TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()));
CREATE POLICY worker_allocated ON subjects TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()));
CREATE POLICY worker_allocated ON justifications TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()));
CREATE POLICY worker_allocated ON notes TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()));
CREATE POLICY worker_allocated ON search_index TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()));
CREATE POLICY worker_allocated ON justification_editors TO :"worker"
    USING (justification_id IN (SELECT j.id FROM justifications j
                                WHERE j.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON reviews TO :"worker"
    USING (justification_id IN (SELECT j.id FROM justifications j
                                WHERE j.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON return_answers TO :"worker"
    USING (justification_id IN (SELECT j.id FROM justifications j
                                WHERE j.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON authorisations TO :"worker"
    USING (justification_id IN (SELECT j.id FROM justifications j
                                WHERE j.case_id IN (SELECT caseview_allocated_cases())));
-- What a worker records may name only what they can see (no other case's request,
-- subject or source).
CREATE POLICY worker_allocated ON viewings TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()))
    WITH CHECK (case_id IN (SELECT caseview_allocated_cases())
        AND (subject_id IS NULL OR subject_id IN (
            SELECT s.id FROM subjects s WHERE s.case_id IN (SELECT caseview_allocated_cases())))
        AND (justification_id IS NULL OR justification_id IN (
            SELECT j.id FROM justifications j
            WHERE j.case_id IN (SELECT caseview_allocated_cases()))));
CREATE POLICY worker_allocated ON sources TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()))
    WITH CHECK (case_id IN (SELECT caseview_allocated_cases())
        AND subject_id IN (
            SELECT s.id FROM subjects s WHERE s.case_id IN (SELECT caseview_allocated_cases()))
        AND justification_id IN (
            SELECT j.id FROM justifications j
            WHERE j.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON browse_sessions TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()))
    WITH CHECK (case_id IN (SELECT caseview_allocated_cases())
        AND subject_id IN (
            SELECT s.id FROM subjects s WHERE s.case_id IN (SELECT caseview_allocated_cases()))
        AND justification_id IN (
            SELECT j.id FROM justifications j
            WHERE j.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON observations TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases()))
    WITH CHECK (case_id IN (SELECT caseview_allocated_cases())
        AND source_id IN (
            SELECT s.id FROM sources s WHERE s.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON exposure_findings TO :"worker"
    USING (source_id IN (SELECT s.id FROM sources s
                         WHERE s.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON source_artefacts TO :"worker"
    USING (source_id IN (SELECT s.id FROM sources s
                         WHERE s.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON browse_pages TO :"worker"
    USING (viewing_id IN (SELECT b.viewing_id FROM browse_sessions b
                          WHERE b.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_allocated ON browse_requests TO :"worker"
    USING (viewing_id IN (SELECT b.viewing_id FROM browse_sessions b
                          WHERE b.case_id IN (SELECT caseview_allocated_cases())));
-- A link between two people is seen by a worker who can see either of them.
CREATE POLICY worker_allocated ON person_links TO :"worker"
    USING (subject_a IN (SELECT s.id FROM subjects s
                         WHERE s.case_id IN (SELECT caseview_allocated_cases()))
        OR subject_b IN (SELECT s.id FROM subjects s
                         WHERE s.case_id IN (SELECT caseview_allocated_cases())));

-- Blobs: a worker reads the bytes a source or artefact of their cases names (body,
-- WARC record, MHTML/DOM/screenshot). Captures store the bytes before the source that
-- names them, in the same transaction, so adding a blob needs no such source; a blob
-- is content-addressed (CHECK), so adding one cannot spoil another case's evidence.
CREATE POLICY worker_reads_named ON blobs FOR SELECT TO :"worker"
    USING (EXISTS (SELECT 1 FROM sources s
                   WHERE s.body_sha256 = blobs.sha256
                     AND s.case_id IN (SELECT caseview_allocated_cases()))
        OR EXISTS (SELECT 1 FROM sources s
                   WHERE s.warc_sha256 = blobs.sha256
                     AND s.case_id IN (SELECT caseview_allocated_cases()))
        OR EXISTS (SELECT 1 FROM source_artefacts a JOIN sources s ON s.id = a.source_id
                   WHERE a.sha256 = blobs.sha256
                     AND s.case_id IN (SELECT caseview_allocated_cases())));
CREATE POLICY worker_adds ON blobs FOR INSERT TO :"worker" WITH CHECK (true);

-- The audit log: a worker reads every event of their cases, and of the events about no
-- case (sign-ins, accounts, policies) those they made and those about their own
-- account. Who else signed in when, or which accounts a manager changed, is staff
-- administration, not the worker's; the policies themselves are in the policies table.
CREATE POLICY worker_reads ON audit_log FOR SELECT TO :"worker"
    USING (case_id IN (SELECT caseview_allocated_cases())
        OR (case_id IS NULL AND (actor = (SELECT caseview_username())
                                 OR (entity = 'user'
                                     AND entity_id = (SELECT caseview_user_id())))));
CREATE POLICY worker_appends ON audit_log FOR INSERT TO :"worker"
    WITH CHECK (case_id IS NULL OR case_id IN (SELECT caseview_allocated_cases()));

-- ---- telling open windows that something changed (LISTEN/NOTIFY) ----------------------

-- Every change writes its audit event in the same transaction, so one trigger on the log
-- covers them all; PostgreSQL delivers a NOTIFY only if that transaction commits, and
-- folds identical ones into one per transaction. The payload is empty: anyone connected
-- may LISTEN to any channel, whatever their role, so a case id would tell a worker when
-- cases not allocated to them are worked on, which row-level security hides. A window
-- that hears it re-reads what it may see (caseview/storage/notify.py). Sign-ins change
-- nothing a window shows and tell nobody.
CREATE FUNCTION caseview_notify_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('caseview', '');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION caseview_notify_change() FROM PUBLIC;
-- The append functions, running as the owner, send it themselves (cheaper than a
-- trigger); this covers every other insert.
DO $do$
BEGIN
    EXECUTE format($trigger$
        CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
        FOR EACH ROW WHEN (caseview_tells_others(NEW.action) AND current_user <> %L)
        EXECUTE FUNCTION caseview_notify_change()$trigger$, current_user);
END
$do$;

-- ---- the repeat-viewing meter across every case, without showing them ------------------

-- The meter counts every completed look at a *person* across the authority (every case,
-- every label: see ethics/meter.py), yet row-level security shows a worker only their
-- own cases. So the meter's facts about other cases are kept here in a form a worker can
-- use but not read: a handle's or address's key (computed by Caseview, ethics.handle_key
-- and ethics.page_key being the one definition of the rule) is stored only as
-- sha256(secret || key), with a secret made at installation that no Caseview role can
-- read. Who writes a row computes its keys (they can see it) and hands them to a
-- function below; nobody but the owner reads these tables; the meter reads what it needs
-- through caseview_meter_basis, which names no handle, address, name or other case's
-- looker. caseview_meter_key_hashes is an oracle ("is this profile known anywhere?"),
-- as the meter inherently is: refusing a look at a page because it is another person's,
-- or stopping it, tells as much.

CREATE TABLE caseview_meter_secret (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret bytea NOT NULL CHECK (octet_length(secret) = 32)
);
INSERT INTO caseview_meter_secret (secret)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
CREATE TRIGGER caseview_meter_secret_fixed BEFORE UPDATE OR DELETE ON caseview_meter_secret
FOR EACH ROW EXECUTE FUNCTION caseview_refuse('caseview_meter_secret is fixed at installation');

-- A subject's keys: page = false for an @name, true for a profile address.
CREATE TABLE person_keys (
    subject_id bigint NOT NULL REFERENCES subjects(id),
    key_hash bytea NOT NULL,
    page boolean NOT NULL,
    PRIMARY KEY (subject_id, key_hash)
);
-- A completed look's address as every profile key it lies under (ethics.page_prefixes),
-- so that "the page is under a known profile" is a match of hashes.
CREATE TABLE look_keys (
    viewing_id bigint NOT NULL REFERENCES viewings(id),
    prefix_hash bytea NOT NULL,
    PRIMARY KEY (viewing_id, prefix_hash)
);
CREATE INDEX look_keys_prefix ON look_keys (prefix_hash);
REVOKE ALL ON caseview_meter_secret, person_keys, look_keys FROM PUBLIC;

CREATE FUNCTION caseview_meter_hash(key text) RETURNS bytea
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT sha256(s.secret || convert_to(key, 'UTF8')) FROM caseview_meter_secret s
$$;

-- The keyed hashes of keys the caller supplies, in their order (the oracle; see above).
CREATE FUNCTION caseview_meter_key_hashes(keys text[]) RETURNS bytea[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce(array_agg(caseview_meter_hash(k.key) ORDER BY k.n), '{}')
    FROM unnest(keys) WITH ORDINALITY AS k(key, n)
    WHERE caseview_username() IS NULL OR caseview_user_id() IS NOT NULL
$$;

-- A subject's keys, added by whoever may write about its case (never removed: a
-- subject's handles do not change on a server, and nobody may unlink a person).
CREATE FUNCTION caseview_add_person_keys(subject bigint, keys text[], pages boolean[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    of_case bigint := (SELECT s.case_id FROM subjects s WHERE s.id = subject);
BEGIN
    IF of_case IS NULL OR NOT caseview_may_write_case(of_case)
       OR (caseview_username() IS NOT NULL AND caseview_user_id() IS NULL)
       OR caseview_group() = 'auditor'
       OR cardinality(keys) IS DISTINCT FROM cardinality(pages) THEN
        PERFORM caseview_refuse_identity(format(
            'person_keys: subject %s is not in a case you may write about', subject));
    END IF;
    INSERT INTO person_keys (subject_id, key_hash, page)
    SELECT subject, caseview_meter_hash(k.key), k.page
    FROM unnest(keys, pages) AS k(key, page) WHERE k.key IS NOT NULL AND k.page IS NOT NULL
    ON CONFLICT DO NOTHING;
END
$$;

-- A completed look's keys, once, by the person who made it (or the owner, migrating).
CREATE FUNCTION caseview_add_look_keys(viewing bigint, prefixes text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM viewings v WHERE v.id = viewing AND v.outcome = 'completed'
                   AND (caseview_username() IS NULL OR v.user_id = caseview_user_id()))
       OR EXISTS (SELECT 1 FROM look_keys l WHERE l.viewing_id = viewing) THEN
        PERFORM caseview_refuse_identity(format(
            'look_keys: viewing %s is not a completed look of yours without keys', viewing));
    END IF;
    INSERT INTO look_keys (viewing_id, prefix_hash)
    SELECT viewing, caseview_meter_hash(p.prefix) FROM unnest(prefixes) AS p(prefix)
    WHERE p.prefix IS NOT NULL
    ON CONFLICT DO NOTHING;
END
$$;

-- The subject ids an emergency request names (its content's "subjects" numbers); none
-- when the content is not such JSON, so no one's request can stop everyone's meter.
CREATE FUNCTION caseview_meter_subjects(content text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(e.value), '[]')
            FROM jsonb_array_elements(content::jsonb -> 'subjects') AS e(value)
            WHERE jsonb_typeof(e.value) = 'number');
EXCEPTION WHEN others THEN
    RETURN '[]';
END
$$;

-- What the meter needs, from every case, as one JSON document: subjects (id, case, keys
-- as hex hashes with their page flag), person links, completed looks from ``since`` on
-- (none when NULL) with their address's prefix hashes, and open emergencies with their
-- subject ids. Who looked, or wrote an emergency, is named only to someone who may read
-- that case (or who it was), else NULL. The same looks as storage/gate.py
-- completed_looks, the same emergencies as its open_emergencies.
CREATE FUNCTION caseview_meter_basis(since text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT CASE WHEN caseview_username() IS NOT NULL AND caseview_user_id() IS NULL
                THEN NULL ELSE jsonb_build_object(
    'subjects', (SELECT coalesce(jsonb_agg(jsonb_build_array(s.id, s.case_id,
                    (SELECT coalesce(jsonb_agg(jsonb_build_array(encode(k.key_hash, 'hex'),
                                                                 k.page)
                                               ORDER BY k.key_hash), '[]')
                     FROM person_keys k WHERE k.subject_id = s.id))
                 ORDER BY s.id), '[]') FROM subjects s),
    'links', (SELECT coalesce(jsonb_agg(jsonb_build_array(l.subject_a, l.subject_b)
                                        ORDER BY l.id), '[]') FROM person_links l),
    'looks', (SELECT coalesce(jsonb_agg(jsonb_build_array(v.subject_id, v.at,
                    CASE WHEN v.user_id = caseview_user_id()
                              OR caseview_may_write_case(v.case_id) THEN u.username END,
                    (SELECT coalesce(jsonb_agg(encode(k.prefix_hash, 'hex')
                                               ORDER BY k.prefix_hash), '[]')
                     FROM look_keys k WHERE k.viewing_id = v.id))
                 ORDER BY v.at, v.id), '[]')
              FROM viewings v JOIN users u ON u.id = v.user_id
              LEFT JOIN sources src ON src.id = v.source_id
              WHERE since IS NOT NULL AND v.outcome = 'completed' AND v.at >= since COLLATE "C"
                AND (v.kind != 'supplied' OR src.origin = 'supplied_by_colleague')),
    'emergencies', (SELECT coalesce(jsonb_agg(jsonb_build_array(j.id,
                    CASE WHEN j.author_id = caseview_user_id()
                              OR caseview_may_write_case(j.case_id) THEN u.username END,
                    caseview_meter_subjects(j.content),
                    j.submitted_at)
                 ORDER BY j.id), '[]')
              FROM justifications j JOIN users u ON u.id = j.author_id
              WHERE j.emergency = 1 AND j.status = 'submitted'
                AND j.submitted_at IS NOT NULL))
    END
$$;

REVOKE ALL ON FUNCTION caseview_meter_hash(text), caseview_meter_key_hashes(text[]),
    caseview_meter_subjects(text),
    caseview_add_person_keys(bigint, text[], boolean[]), caseview_add_look_keys(bigint, text[]),
    caseview_meter_basis(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    caseview_meter_key_hashes(text[]), caseview_add_person_keys(bigint, text[], boolean[]),
    caseview_add_look_keys(bigint, text[]), caseview_meter_basis(text)
TO :"worker", :"manager", :"auditor";
