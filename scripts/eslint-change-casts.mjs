// The lint rule that keeps targets off casts of roster changes: a change's record is typed by its
// entity (`RosterChange`, narrowed on `change.data.entity`), so a target that casts the change
// (`as RosterChangeEvent<'orgs'>[]`) or its record (`change.data.record as Org`) only hides a
// mistake the types would have caught. eslint.config.mjs applies it to plugins/target-*/src;
// test/tests/lint-change-casts.test.ts proves it catches both casts.

const MESSAGE = {
  change: 'Do not cast a roster change: narrow it on change.data.entity (RosterChange is typed by entity and kind), or fold it with foldChanges.',
  record: "Do not cast a change's record: narrow the change on change.data.entity and its record is typed (RosterChange).",
};

/** `no-restricted-syntax` options: the selectors of a cast to a change type and of a cast of `.record`. */
export const changeCastRule = [
  'error',
  { selector: "TSAsExpression[typeAnnotation.type='TSTypeReference'][typeAnnotation.typeName.name=/^RosterChange(Event)?$/]", message: MESSAGE.change },
  {
    selector: "TSAsExpression[typeAnnotation.type='TSArrayType'][typeAnnotation.elementType.typeName.name=/^RosterChange(Event)?$/]",
    message: MESSAGE.change,
  },
  {
    selector: "TSAsExpression[typeAnnotation.type='TSTypeOperator'][typeAnnotation.typeAnnotation.elementType.typeName.name=/^RosterChange(Event)?$/]",
    message: MESSAGE.change,
  },
  // A change's record is `<change>.data.record`; a database row's `record` column (`row.record as X`) is not one.
  {
    selector:
      "TSAsExpression[expression.type='MemberExpression'][expression.property.name='record'][expression.object.type='MemberExpression'][expression.object.property.name='data']",
    message: MESSAGE.record,
  },
];
