/** The search-space language: parse, sample, enumerate and serialise parameter sets. */
export { Space } from './space';
export { fromUnit, toUnit, inDomain, lattice, latticeValues, describeDomain, type Lattice } from './param';
export { closestMatch, suggestFix } from './suggest';
export type {
  BoolSpec,
  ChoiceSpec,
  Condition,
  FixedSpec,
  FloatSpec,
  IntSpec,
  ParamJSON,
  ParamKind,
  ParamSpec,
  ParamValue,
  Params,
  Rng,
  Sampling,
  SpaceJSON,
} from './types';
