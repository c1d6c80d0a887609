-- The conformance fixture: a plain SQL backup of one table with three rows.
create table public.items (id integer primary key, name text not null);
insert into public.items (id, name) values (1, 'one'), (2, 'two'), (3, 'three');
