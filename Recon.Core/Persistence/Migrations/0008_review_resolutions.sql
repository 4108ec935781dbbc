-- Review (issue 15): how and by whom a person closed an exception. Null on rows the engine closed (their item matched).
alter table exceptions add column resolution_code text;
alter table exceptions add column resolution_note text;
alter table exceptions add column resolved_by     text;
create index exceptions_open on exceptions (id) where status = 'open';
