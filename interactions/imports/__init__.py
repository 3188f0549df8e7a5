"""Orders and interactions from files, through the customer import's job machinery
(customers.imports.jobs): each module here is one kind's rows (fields(), prepare, write_batch)."""
