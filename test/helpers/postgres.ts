// The Postgres of the tests (see the module's comment): the code lives beside the Postgres
// example, whose demo needs one the same way; the tests import it from here.
export {
  freshSchema,
  type PrivatePostgres,
  postgresUrl,
  startPrivatePostgres,
} from '../../examples/postgres/local-postgres';
