-- 0019: the department score weights keep who set them without a foreign key to users, so that
-- emptying the users (a test's TRUNCATE … CASCADE between files on the embedded database) does not
-- empty the weights. (0017 is frozen: the change is made here.)
ALTER TABLE department_kpi_weights DROP CONSTRAINT IF EXISTS department_kpi_weights_updated_by_fkey;
