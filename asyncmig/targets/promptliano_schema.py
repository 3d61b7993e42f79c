"""Facts about the Promptliano v0.12 schema, read from its public repository (``packages/
database/drizzle`` at 570e165e), in asyncmig's own notation: every table as its migrations
make it, with the changes its server makes at each start (it drops ``active_tabs`` and
``project_tab_state`` and adds ``process_ports_project_port_unique``), so that its first
start on our database changes nothing. Data only; :mod:`asyncmig.targets.promptliano`
writes the DDL from it."""

from __future__ import annotations

from typing import Final

#: ``table: column, column, ...`` (a line led by spaces goes on). A column is ``name type``
#: then flags: ``pk`` primary key (``pk+``: AUTOINCREMENT), ``=x`` its default as declared,
#: ``nn`` NOT NULL, ``>parent`` a foreign key to ``parent(id)`` ON DELETE CASCADE
#: (``>parent?``: ON DELETE SET NULL).
TABLES_TEXT: Final = """
chat_messages: id integer pk nn, chat_id integer nn >chats, role text nn, content text nn,
    metadata text, created_at integer nn
chats: id integer pk nn, project_id integer >projects, title text nn, created_at integer nn,
    updated_at integer nn
claude_agents: id text pk nn, name text nn, description text, instructions text, model text nn,
    is_active integer =true nn, created_at integer nn, updated_at integer nn
claude_commands: id integer pk nn, project_id integer nn >projects, name text nn, description
    text, command text nn, args text ='{}' nn, is_active integer =true nn, created_at integer
    nn, updated_at integer nn
claude_hooks: id integer pk nn, project_id integer nn >projects, name text nn, description
    text, hook_type text nn, trigger_event text nn, script text nn, is_active integer =true nn,
    created_at integer nn, updated_at integer nn
files: id text pk nn, project_id integer nn >projects, name text nn, path text nn, extension
    text, size integer, last_modified integer, content_type text, content text, meta text,
    checksum text, imports text, exports text, is_relevant integer =false, relevance_score
    real, created_at integer nn, updated_at integer nn
projects: id integer pk nn, name text nn, description text, path text nn, created_at integer
    nn, updated_at integer nn
prompts: id integer pk nn, project_id integer >projects, title text nn, content text nn,
    description text, tags text ='[]' nn, created_at integer nn, updated_at integer nn
provider_keys: id integer pk nn, provider text nn, key_name text nn, name text, secret_ref
    text, key text, base_url text, custom_headers text ='{}', is_default integer =false nn,
    is_active integer =true nn, environment text ='production' nn, description text, expires_at
    integer, last_used integer, created_at integer nn, updated_at integer nn
queue_items: id integer pk nn, queue_id integer nn >queues, item_type text nn, item_id integer
    nn, priority integer =5 nn, status text ='queued' nn, agent_id text, error_message text,
    estimated_processing_time integer, actual_processing_time integer, started_at integer,
    completed_at integer, created_at integer nn, updated_at integer nn
queues: id integer pk nn, project_id integer nn >projects, name text nn, description text,
    max_parallel_items integer =1 nn, is_active integer =true nn, created_at integer nn,
    updated_at integer nn
selected_files: id integer pk nn, project_id integer nn >projects, file_id text nn >files,
    selected_at integer nn, selection_reason text, is_active integer =true nn
ticket_tasks: id integer pk nn, ticket_id integer nn >tickets, content text nn, description
    text, suggested_file_ids text ='[]' nn, done integer =false nn, status text ='pending' nn,
    order_index integer =0 nn, estimated_hours real, dependencies text ='[]' nn, tags text
    ='[]' nn, agent_id text, suggested_prompt_ids text ='[]' nn, queue_id integer >queues?,
    queue_position integer, queue_status text, queue_priority integer, queued_at integer,
    queue_started_at integer, queue_completed_at integer, queue_agent_id text,
    queue_error_message text, estimated_processing_time integer, actual_processing_time
    integer, created_at integer nn, updated_at integer nn
tickets: id integer pk nn, project_id integer nn >projects, title text nn, overview text,
    status text ='open' nn, priority text ='normal' nn, suggested_file_ids text ='[]' nn,
    suggested_agent_ids text ='[]' nn, suggested_prompt_ids text ='[]' nn, queue_id integer
    >queues?, queue_position integer, queue_status text, queue_priority integer, queued_at
    integer, queue_started_at integer, queue_completed_at integer, queue_agent_id text,
    queue_error_message text, estimated_processing_time integer, actual_processing_time
    integer, created_at integer nn, updated_at integer nn
ai_sdk_options: id integer pk nn, project_id integer nn >projects, name text nn, ollama_url
    text, lmstudio_url text, temperature real, max_tokens integer, top_p real,
    frequency_penalty real, presence_penalty real, top_k integer, stop text, response_format
    text, provider text, model text, created_at integer nn, updated_at integer nn
claude_messages: id integer pk nn, project_id integer nn >projects, type text nn, message text,
    timestamp text nn, session_id text nn, uuid text, parent_uuid text, request_id text,
    user_type text, is_sidechain integer =false, cwd text, version text, git_branch text,
    tool_use_result text, content text, is_meta integer =false, tool_use_id text, level text,
    tokens_used integer, cost_usd real, duration_ms integer, model text, created_at integer nn,
    updated_at integer nn
claude_session_metadata: id integer pk nn, session_id text nn >claude_sessions, project_path
    text nn, start_time text nn, last_update text nn, message_count integer nn, file_size
    integer nn, has_git_branch integer =false nn, has_cwd integer =false nn,
    first_message_preview text, last_message_preview text, created_at integer nn, updated_at
    integer nn
claude_sessions: id text pk nn, project_id integer nn >projects, project_path text nn,
    start_time text nn, last_update text nn, message_count integer =0 nn, git_branch text, cwd
    text, token_usage text, service_tiers text ='[]', total_tokens_used integer, total_cost_usd
    real, created_at integer nn, updated_at integer nn
file_export_info: id integer pk nn, file_id text nn >files, type text nn, source text,
    specifiers text, created_at integer nn, updated_at integer nn
file_groups: id text pk nn, project_id integer nn >projects, name text nn, strategy text nn,
    file_ids text nn, relationships text ='[]', estimated_tokens integer, priority integer =5
    nn, metadata text ='{}', created_at integer nn, updated_at integer nn
file_import_info: id integer pk nn, file_id text nn >files, source text nn, specifiers text nn,
    created_at integer nn, updated_at integer nn
file_importance: id integer pk nn, file_id text nn >files, project_id integer nn >projects,
    score real nn, type_score real nn, location_score real nn, dependency_score real nn,
    size_score real nn, recency_score real nn, created_at integer nn, updated_at integer nn
file_relationships: id integer pk nn, source_file_id text nn >files, target_file_id text nn
    >files, type text nn, strength real nn, metadata text ='{}', created_at integer nn,
    updated_at integer nn
git_remotes: id integer pk nn, project_id integer nn >projects, name text nn, fetch text nn,
    push text nn, created_at integer nn, updated_at integer nn
git_stashes: id integer pk nn, project_id integer nn >projects, stash_index integer nn, message
    text nn, branch text nn, date text nn, created_at integer nn
git_status: id integer pk nn, project_id integer nn >projects, is_repo integer nn, current
    text, tracking text, ahead integer =0 nn, behind integer =0 nn, files text ='[]' nn, staged
    text ='[]' nn, modified text ='[]' nn, created_files text ='[]' nn, deleted text ='[]' nn,
    renamed text ='[]' nn, conflicted text ='[]' nn, created_at integer nn, updated_at integer
    nn
git_tags: id integer pk nn, project_id integer nn >projects, name text nn, commit text nn,
    annotation text, tagger text, created_at integer nn, updated_at integer nn
git_worktrees: id integer pk nn, project_id integer nn >projects, path text nn, branch text nn,
    commit text nn, is_main integer =false nn, is_locked integer =false nn, lock_reason text,
    prunable integer =false, created_at integer nn, updated_at integer nn
mcp_server_configs: id integer pk nn, project_id integer nn >projects, name text nn, command
    text nn, args text ='[]', env text ='{}', enabled integer =true nn, auto_start integer
    =false nn, created_at integer nn, updated_at integer nn
relevance_configs: id integer pk nn, project_id integer nn >projects, name text nn, weights
    text nn, max_files integer =100 nn, min_score real =0.1 nn, created_at integer nn,
    updated_at integer nn
relevance_scores: id integer pk nn, file_id text nn >files, project_id integer nn >projects,
    total_score real nn, keyword_score real nn, path_score real nn, type_score real nn,
    recency_score real nn, import_score real nn, query text, created_at integer nn, updated_at
    integer nn
model_configs: id integer pk nn, name text nn, display_name text, provider text nn, model text
    nn, temperature real =0.7, max_tokens integer =4096, top_p real =1, top_k integer =0,
    frequency_penalty real =0, presence_penalty real =0, response_format text, system_prompt
    text, is_system_preset integer =false nn, is_default integer =false nn, is_active integer
    =true nn, description text, preset_category text, ui_icon text, ui_color text, ui_order
    integer =0, created_at integer nn, updated_at integer nn
model_presets: id integer pk nn, name text nn, description text, config_id integer nn
    >model_configs, category text ='general', is_system_preset integer =false nn, is_active
    integer =true nn, usage_count integer =0 nn, last_used_at integer, metadata text,
    created_at integer nn, updated_at integer nn
mcp_error_patterns: id integer pk+ nn, project_id integer >projects, tool_name text nn,
    error_type text nn, error_pattern text nn, occurrence_count integer =1 nn, last_occurred_at
    integer nn, metadata text, created_at integer =(unixepoch()) nn, updated_at integer
    =(unixepoch()) nn
mcp_execution_chains: id integer pk+ nn, chain_id text nn, execution_id integer nn
    >mcp_tool_executions, parent_execution_id integer >mcp_tool_executions, position integer =0
    nn, created_at integer =(unixepoch()) nn
mcp_tool_executions: id integer pk+ nn, tool_name text nn, project_id integer >projects,
    session_id text, started_at integer nn, completed_at integer, duration_ms integer, status
    text ='running' nn, error_message text, error_code text, input_params text, output_size
    integer, metadata text, created_at integer =(unixepoch()) nn, updated_at integer
    =(unixepoch()) nn
mcp_tool_statistics: id integer pk+ nn, tool_name text nn, project_id integer >projects,
    period_start integer nn, period_end integer nn, period_type text nn, execution_count
    integer =0 nn, success_count integer =0 nn, error_count integer =0 nn, timeout_count
    integer =0 nn, total_duration_ms integer =0 nn, avg_duration_ms real =0 nn, min_duration_ms
    integer, max_duration_ms integer, total_output_size integer =0 nn, created_at integer
    =(unixepoch()) nn, updated_at integer =(unixepoch()) nn
encryption_keys: id integer pk nn, key text nn, is_default integer =true nn, created_at integer
    nn, updated_at integer nn
process_runs: id integer pk nn, project_id integer nn >projects, process_id text nn, pid
    integer, name text, command text nn, args text ='[]' nn, cwd text nn, env text, status text
    ='running' nn, exit_code integer, signal text, started_at integer nn, exited_at integer,
    cpu_usage real, memory_usage integer, script_name text, script_type text, created_at
    integer nn, updated_at integer nn
process_logs: id integer pk nn, run_id integer nn >process_runs, timestamp integer nn, type
    text nn, content text nn, line_number integer nn, created_at integer nn
process_ports: id integer pk nn, project_id integer nn >projects, run_id integer
    >process_runs?, port integer nn, protocol text ='tcp' nn, address text ='0.0.0.0' nn, pid
    integer, process_name text, state text ='listening' nn, created_at integer nn, updated_at
    integer nn
chat_streams: id integer pk+, chat_id integer nn >chats, direction text nn, provider text nn,
    model text nn, started_at integer nn, finished_at integer, finish_reason text, usage_json
    text, message_metadata_json text, format text ='ui' nn, version integer =1 nn,
    assistant_message_id integer >chat_messages?, created_at integer nn, updated_at integer nn
chat_stream_events: id integer pk+, stream_id integer nn >chat_streams, seq integer nn, ts
    integer nn, type text nn, payload text
"""

#: ``name table(column,...)``, ``unique`` after a unique index.
INDEXES_TEXT: Final = """
chat_messages_chat_idx chat_messages(chat_id)
chat_messages_role_idx chat_messages(role)
chat_messages_created_at_idx chat_messages(created_at)
chats_project_idx chats(project_id)
chats_updated_at_idx chats(updated_at)
claude_agents_name_idx claude_agents(name)
claude_agents_model_idx claude_agents(model)
claude_agents_active_idx claude_agents(is_active)
claude_commands_project_idx claude_commands(project_id)
claude_commands_name_idx claude_commands(name)
claude_commands_active_idx claude_commands(is_active)
claude_hooks_project_idx claude_hooks(project_id)
claude_hooks_type_idx claude_hooks(hook_type)
claude_hooks_event_idx claude_hooks(trigger_event)
claude_hooks_active_idx claude_hooks(is_active)
files_project_idx files(project_id)
files_path_idx files(path)
files_name_idx files(name)
files_relevant_idx files(is_relevant)
files_score_idx files(relevance_score)
files_extension_idx files(extension)
files_checksum_idx files(checksum)
projects_path_idx projects(path)
projects_name_idx projects(name)
prompts_project_idx prompts(project_id)
prompts_title_idx prompts(title)
prompts_tags_idx prompts(tags)
provider_keys_provider_idx provider_keys(provider)
provider_keys_key_name_idx provider_keys(key_name)
provider_keys_active_idx provider_keys(is_active)
provider_keys_default_idx provider_keys(is_default)
provider_keys_environment_idx provider_keys(environment)
queue_items_queue_idx queue_items(queue_id)
queue_items_status_idx queue_items(status)
queue_items_priority_idx queue_items(priority)
queue_items_item_idx queue_items(item_type,item_id)
queue_items_agent_idx queue_items(agent_id)
queues_project_idx queues(project_id)
queues_name_idx queues(name)
queues_active_idx queues(is_active)
selected_files_project_idx selected_files(project_id)
selected_files_file_idx selected_files(file_id)
selected_files_active_idx selected_files(is_active)
selected_files_selected_at_idx selected_files(selected_at)
selected_files_unique_project_file selected_files(project_id,file_id)
ticket_tasks_ticket_idx ticket_tasks(ticket_id)
ticket_tasks_done_idx ticket_tasks(done)
ticket_tasks_status_idx ticket_tasks(status)
ticket_tasks_order_idx ticket_tasks(ticket_id,order_index)
ticket_tasks_queue_idx ticket_tasks(queue_id,queue_position)
ticket_tasks_agent_idx ticket_tasks(agent_id)
tickets_project_idx tickets(project_id)
tickets_status_idx tickets(status)
tickets_priority_idx tickets(priority)
tickets_queue_idx tickets(queue_id,queue_position)
tickets_queue_status_idx tickets(queue_status)
tickets_created_at_idx tickets(created_at)
ai_sdk_options_project_idx ai_sdk_options(project_id)
ai_sdk_options_name_idx ai_sdk_options(name)
ai_sdk_options_provider_idx ai_sdk_options(provider)
ai_sdk_options_model_idx ai_sdk_options(model)
claude_messages_project_idx claude_messages(project_id)
claude_messages_session_idx claude_messages(session_id)
claude_messages_type_idx claude_messages(type)
claude_messages_timestamp_idx claude_messages(timestamp)
claude_messages_uuid_idx claude_messages(uuid)
claude_messages_parent_uuid_idx claude_messages(parent_uuid)
claude_session_metadata_session_idx claude_session_metadata(session_id)
claude_session_metadata_project_path_idx claude_session_metadata(project_path)
claude_session_metadata_last_update_idx claude_session_metadata(last_update)
claude_session_metadata_file_size_idx claude_session_metadata(file_size)
claude_sessions_project_idx claude_sessions(project_id)
claude_sessions_project_path_idx claude_sessions(project_path)
claude_sessions_start_time_idx claude_sessions(start_time)
claude_sessions_last_update_idx claude_sessions(last_update)
claude_sessions_branch_idx claude_sessions(git_branch)
file_export_info_file_idx file_export_info(file_id)
file_export_info_type_idx file_export_info(type)
file_groups_project_idx file_groups(project_id)
file_groups_strategy_idx file_groups(strategy)
file_groups_priority_idx file_groups(priority)
file_groups_name_idx file_groups(name)
file_import_info_file_idx file_import_info(file_id)
file_import_info_source_idx file_import_info(source)
file_importance_file_idx file_importance(file_id)
file_importance_project_idx file_importance(project_id)
file_importance_score_idx file_importance(score)
file_relationships_source_idx file_relationships(source_file_id)
file_relationships_target_idx file_relationships(target_file_id)
file_relationships_type_idx file_relationships(type)
file_relationships_strength_idx file_relationships(strength)
git_remotes_project_idx git_remotes(project_id)
git_remotes_name_idx git_remotes(name)
git_stashes_project_idx git_stashes(project_id)
git_stashes_index_idx git_stashes(stash_index)
git_stashes_branch_idx git_stashes(branch)
git_status_project_idx git_status(project_id)
git_status_repo_idx git_status(is_repo)
git_status_branch_idx git_status(current)
git_tags_project_idx git_tags(project_id)
git_tags_name_idx git_tags(name)
git_tags_commit_idx git_tags(commit)
git_worktrees_project_idx git_worktrees(project_id)
git_worktrees_path_idx git_worktrees(path)
git_worktrees_branch_idx git_worktrees(branch)
git_worktrees_main_idx git_worktrees(is_main)
mcp_server_configs_project_idx mcp_server_configs(project_id)
mcp_server_configs_name_idx mcp_server_configs(name)
mcp_server_configs_enabled_idx mcp_server_configs(enabled)
mcp_server_configs_auto_start_idx mcp_server_configs(auto_start)
relevance_configs_project_idx relevance_configs(project_id)
relevance_configs_name_idx relevance_configs(name)
relevance_scores_file_idx relevance_scores(file_id)
relevance_scores_project_idx relevance_scores(project_id)
relevance_scores_total_score_idx relevance_scores(total_score)
relevance_scores_query_idx relevance_scores(query)
model_configs_name_idx model_configs(name)
model_configs_provider_idx model_configs(provider)
model_configs_is_default_idx model_configs(is_default)
model_presets_category_idx model_presets(category)
model_presets_config_idx model_presets(config_id)
model_presets_usage_idx model_presets(usage_count)
mcp_error_project_idx mcp_error_patterns(project_id)
mcp_error_tool_idx mcp_error_patterns(tool_name)
mcp_error_type_idx mcp_error_patterns(error_type)
mcp_error_pattern_unique_idx mcp_error_patterns(project_id,tool_name,error_pattern) unique
mcp_chain_idx mcp_execution_chains(chain_id)
mcp_chain_execution_idx mcp_execution_chains(execution_id)
mcp_chain_exec_unique_idx mcp_execution_chains(chain_id,execution_id) unique
mcp_exec_tool_name_idx mcp_tool_executions(tool_name)
mcp_exec_project_idx mcp_tool_executions(project_id)
mcp_exec_status_idx mcp_tool_executions(status)
mcp_exec_started_at_idx mcp_tool_executions(started_at)
mcp_exec_session_idx mcp_tool_executions(session_id)
mcp_stat_unique_idx mcp_tool_statistics(tool_name,project_id,period_type,period_start) unique
mcp_stat_tool_name_idx mcp_tool_statistics(tool_name)
mcp_stat_project_idx mcp_tool_statistics(project_id)
mcp_stat_period_idx mcp_tool_statistics(period_start,period_end)
process_runs_process_id_unique process_runs(process_id) unique
process_runs_project_idx process_runs(project_id)
process_runs_process_id_idx process_runs(process_id)
process_runs_status_idx process_runs(status)
process_runs_started_at_idx process_runs(started_at)
process_logs_run_idx process_logs(run_id)
process_logs_timestamp_idx process_logs(timestamp)
process_logs_type_idx process_logs(type)
process_ports_project_idx process_ports(project_id)
process_ports_run_idx process_ports(run_id)
process_ports_port_idx process_ports(port)
process_ports_state_idx process_ports(state)
idx_chat_streams_chat_started chat_streams(chat_id,started_at)
idx_chat_stream_events_stream_seq chat_stream_events(stream_id,seq)
idx_chat_stream_events_type chat_stream_events(type)
process_ports_project_port_unique process_ports(project_id,port) unique
"""

#: The migrations journal: (file, the journal's ``when``, sha256 of the file's text). The
#: migrator reads the newest ``created_at`` and runs every entry whose ``when`` is later.
MIGRATIONS: Final = (
    (
        "0000_base",
        1757260000000,
        "8a23f81ed9316d86d7d3dba50c62e64a583e495695629f13a7cf8d18c32dfbee",
    ),
    (
        "0001_chat_streams",
        1758900000000,
        "162afe669eac0529456cd05bb014e5d39be2e5dd456d201e212549747f572b5d",
    ),
)
