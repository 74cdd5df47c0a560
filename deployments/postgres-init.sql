-- A second database for the Prefect server, beside AIMA's own metadata database.
CREATE DATABASE prefect OWNER aima;
