//===- Planning.cpp - which value to record for each parameter and return -===//
//
// At OptimizerLast the IR signature may differ from the source one: sret,
// byval, coerced structs, and for local functions dead-argument elimination,
// argument promotion and constant propagation. A parameter is recorded only
// through arguments that still carry the tags the frontend's prologue gave
// them (ParamTags.cpp), all of them, with types that fit the source type;
// a return value only if its type is still the one clang lowered it to and
// no part of it is undefined. Everything else is skipped, never guessed.
//
//===----------------------------------------------------------------------===//

#include "KcovDataflow.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DebugProgramInstruction.h"
#include "llvm/IR/InstrTypes.h"
#include "llvm/Support/raw_ostream.h"

namespace kcovdf {

unsigned FunctionPlan::recordedArgs() const {
  return count_if(Params, [](const ParamPlan &P) { return P.Plan.has_value(); });
}

unsigned FunctionPlan::recordedRets() const {
  return count_if(Rets, [](const RetPlan &R) { return R.Record; });
}

namespace {

// Dead-argument elimination makes the direct callers in this module pass
// poison for an argument the body does not use, even when the function is
// visible to other modules (which still pass the real value). An argument
// the body uses, or one with a pointee copy, was not declared dead.
bool reliable(const Argument *A) {
  if (!A->use_empty() || A->hasPassPointeeByValueCopyAttr())
    return true;
  for (const Use &U : A->getParent()->uses()) {
    auto *CB = dyn_cast<CallBase>(U.getUser());
    if (!CB || !CB->isCallee(&U))
      continue;
    if (A->getArgNo() >= CB->arg_size() ||
        isa<UndefValue>(CB->getArgOperand(A->getArgNo())))
      return false;
  }
  return true;
}

bool fitsClass(Type *T, ValueClass C) {
  switch (C) {
  case ValueClass::Integer:
    return T->isIntegerTy();
  case ValueClass::Float:
    return T->isFPOrFPVectorTy();
  case ValueClass::Pointer:
    return T->isPointerTy();
  case ValueClass::Any:
    return true;
  }
  return false;
}

// A scalar of S.Size bytes carried whole by one IR value of type T.
// Every byte the kernel reads (the first min(size, 8)) must be one the
// store writes: a _BitInt(24) is stored in 3 bytes of its 4.
bool holdsScalar(const DataLayout &DL, Type *T, const Shape &S) {
  if (!T->isSingleValueType() || !fitsClass(T, S.Class))
    return false;
  if (S.Size == 1 && T->isIntegerTy(1))
    return true;
  uint64_t Stored = DL.getTypeStoreSize(T);
  return (Stored == S.Size || DL.getTypeAllocSize(T) == S.Size) &&
         Stored >= std::min<uint64_t>(S.Size, 8);
}

// The callbacks take flat pointers: a struct in another address space
// (x86's __seg_fs, __seg_gs) cannot be read through one.
bool flatPointer(const Value *V) {
  return V->getType()->isPointerTy() &&
         V->getType()->getPointerAddressSpace() == 0;
}

bool fitsSlot(const DataLayout &DL, const TracePlan &Plan) {
  if (Plan.How == Source::Pointer)
    return true;
  for (unsigned I = 0; I < Plan.Vals.size(); ++I) {
    uint64_t Off = Plan.How == Source::Pieces ? Plan.Offsets[I] : 0;
    if (Off + DL.getTypeStoreSize(Plan.Vals[I]->getType()) > SlotSize)
      return false;
  }
  return true;
}

std::optional<TracePlan> planParam(Function &F, unsigned Idx, const Shape &S,
                                   SkipReason &Why) {
  const DataLayout &DL = F.getDataLayout();
  SmallVector<std::pair<ParamTag, Argument *>, 2> Mine;
  for (Argument &A : F.args())
    if (std::optional<ParamTag> T = readTag(A); T && T->Idx == Idx)
      Mine.push_back({*T, &A});
  if (Mine.empty()) {
    Why = SkipReason::Untagged;
    return std::nullopt;
  }
  for (auto &[T, A] : Mine)
    if (!reliable(A)) {
      Why = SkipReason::Dead;
      return std::nullopt;
    }
  TracePlan Plan;
  if (Mine.front().first.Indirect) {
    // The value lives in memory the argument points to.
    Argument *A = Mine.front().second;
    if (Mine.size() != 1 || S.Kind == ShapeKind::StructPtr ||
        !flatPointer(A)) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    Plan.How = Source::Pointer;
    Plan.Vals.push_back(A);
    return Plan;
  }
  unsigned Expected = Mine.front().first.Pieces;
  if (Mine.size() != Expected || any_of(Mine, [&](auto &P) {
        return P.first.Indirect || P.first.Pieces != Expected;
      })) {
    Why = SkipReason::Partial;
    return std::nullopt;
  }
  llvm::sort(Mine, [](auto &A, auto &B) { return A.first.Offset < B.first.Offset; });
  Type *T0 = Mine.front().second->getType();
  bool Single = Mine.size() == 1 && Mine.front().first.Offset == 0;
  switch (S.Kind) {
  case ShapeKind::StructPtr:
    if (!Single || !flatPointer(Mine.front().second)) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    Plan.How = Source::Pointer;
    Plan.Vals.push_back(Mine.front().second);
    return Plan;
  case ShapeKind::Scalar:
    if (Single && holdsScalar(DL, T0, S)) {
      Plan.How = Source::Spill;
      Plan.Vals.push_back(Mine.front().second);
      return Plan;
    }
    if (Single && T0->isSingleValueType() && !fitsClass(T0, S.Class)) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    break; // a wide scalar in pieces (16-byte integers, complex numbers)
  case ShapeKind::Aggregate:
    break;
  }
  Plan.How = Source::Pieces;
  for (auto &[T, A] : Mine) {
    Plan.Vals.push_back(A);
    Plan.Offsets.push_back(T.Offset);
  }
  if (!fitsSlot(DL, Plan)) {
    Why = SkipReason::NoSlot;
    return std::nullopt;
  }
  return Plan;
}

// True if some part of V is undef or poison: a constant with such an
// element, or an aggregate or vector built over poison that misses one.
bool hasUndefinedPart(Value *V, unsigned Depth = 0) {
  if (isa<UndefValue>(V))
    return true;
  if (Depth > 8)
    return true;
  if (auto *C = dyn_cast<Constant>(V)) {
    for (Value *Op : C->operands())
      if (hasUndefinedPart(Op, Depth + 1))
        return true;
    return false; // plain data (ConstantData*) has no operands
  }
  if (isa<InsertValueInst>(V) || isa<InsertElementInst>(V)) {
    unsigned N = 0;
    if (auto *ST = dyn_cast<StructType>(V->getType()))
      N = ST->getNumElements();
    else if (auto *AT = dyn_cast<ArrayType>(V->getType()))
      N = AT->getNumElements();
    else if (auto *VT = dyn_cast<FixedVectorType>(V->getType()))
      N = VT->getNumElements();
    else
      return true;
    SmallVector<bool, 8> Set(N, false);
    Value *Cur = V;
    while (true) {
      if (auto *IV = dyn_cast<InsertValueInst>(Cur)) {
        if (IV->getNumIndices() != 1 ||
            hasUndefinedPart(IV->getInsertedValueOperand(), Depth + 1))
          return true;
        Set[IV->getIndices()[0]] = true;
        Cur = IV->getAggregateOperand();
        continue;
      }
      if (auto *IE = dyn_cast<InsertElementInst>(Cur)) {
        auto *Lane = dyn_cast<ConstantInt>(IE->getOperand(2));
        if (!Lane || Lane->getZExtValue() >= N ||
            hasUndefinedPart(IE->getOperand(1), Depth + 1))
          return true;
        Set[Lane->getZExtValue()] = true;
        Cur = IE->getOperand(0);
        continue;
      }
      break;
    }
    // The elements no insertion set come from the base.
    if (auto *C = dyn_cast<Constant>(Cur)) {
      for (unsigned I = 0; I < N; ++I) {
        if (Set[I])
          continue;
        Constant *E = C->getAggregateElement(I);
        if (!E || hasUndefinedPart(E, Depth + 1))
          return true;
      }
      return false;
    }
    return hasUndefinedPart(Cur, Depth + 1);
  }
  return false;
}

std::optional<TracePlan> planRet(Function &F, ReturnInst &RI, const Shape &S,
                                 SkipReason &Why) {
  const DataLayout &DL = F.getDataLayout();
  TracePlan Plan;
  for (Argument &A : F.args()) {
    if (!A.hasStructRetAttr())
      continue;
    if (S.Kind != ShapeKind::Aggregate || !flatPointer(&A) ||
        DL.getTypeAllocSize(A.getParamStructRetType()) != S.Size) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    Plan.How = Source::Pointer;
    Plan.Vals.push_back(&A);
    return Plan;
  }
  std::string Now;
  raw_string_ostream OS(Now);
  F.getReturnType()->print(OS);
  Value *V = RI.getReturnValue();
  if (F.getFnAttribute(RetTagAttr).getValueAsString() != OS.str() || !V) {
    Why = SkipReason::Rewritten;
    return std::nullopt;
  }
  if (hasUndefinedPart(V)) {
    Why = SkipReason::Undefined;
    return std::nullopt;
  }
  Type *T = V->getType();
  switch (S.Kind) {
  case ShapeKind::StructPtr:
    if (!flatPointer(V)) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    Plan.How = Source::Pointer;
    Plan.Vals.push_back(V);
    return Plan;
  case ShapeKind::Scalar:
    if (holdsScalar(DL, T, S)) {
      Plan.How = Source::Spill;
      Plan.Vals.push_back(V);
      return Plan;
    }
    if (T->isSingleValueType() && !fitsClass(T, S.Class)) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    break;
  case ShapeKind::Aggregate:
    if (S.PassByRef || S.Size == 0) {
      Why = SkipReason::Mismatch;
      return std::nullopt;
    }
    break;
  }
  // Stored whole: clang lowers a returned value to a type whose in-memory
  // image is the source value's bytes (plus, at most, tail padding).
  if (DL.getTypeStoreSize(T) < std::min<uint64_t>(S.Size, 8)) {
    Why = SkipReason::Mismatch;
    return std::nullopt;
  }
  Plan.How = Source::Pieces;
  Plan.Vals.push_back(V);
  Plan.Offsets.push_back(0);
  if (!fitsSlot(DL, Plan)) {
    Why = SkipReason::NoSlot;
    return std::nullopt;
  }
  return Plan;
}

// Parameter names the subprogram does not list (unusual) come from the
// function's debug records.
void fillNames(Function &F, const DISubprogram *SP,
               std::vector<SourceParam> &Params) {
  auto Visit = [&](const DILocalVariable *V) {
    if (V && V->getScope() == SP && V->getArg() &&
        V->getArg() <= Params.size() && Params[V->getArg() - 1].Name.empty())
      Params[V->getArg() - 1].Name = V->getName().str();
  };
  if (none_of(Params, [](const SourceParam &P) { return P.Name.empty(); }))
    return;
  for (Instruction &I : F.getEntryBlock())
    for (DbgVariableRecord &DVR : filterDbgVars(I.getDbgRecordRange()))
      Visit(DVR.getVariable());
}

} // namespace

FunctionPlan planFunction(Function &F, const DISubprogram *SP,
                          FieldTables &Tables, bool Args, bool Rets) {
  FunctionPlan FP;
  std::vector<SourceParam> Params = sourceParams(SP);
  fillNames(F, SP, Params);
  if (Args) {
    for (SourceParam &P : Params) {
      ParamPlan PP;
      PP.S = shapeOf(P.Type, Tables);
      PP.Param = std::move(P);
      PP.Plan = planParam(F, PP.Param.Idx, PP.S, PP.Why);
      FP.Params.push_back(std::move(PP));
    }
    FP.Marker = FP.recordedArgs() == 0;
  }
  auto Types = SP->getType()->getTypeArray();
  const DIType *RetType = Types.size() == 0 ? nullptr : Types[0];
  FP.Void = !RetType;
  FP.Ret = shapeOf(RetType, Tables);
  if (!Rets)
    return FP;
  for (BasicBlock &BB : F) {
    auto *RI = dyn_cast<ReturnInst>(BB.getTerminator());
    if (!RI)
      continue;
    RetPlan R;
    R.RI = RI;
    if (auto *CI = dyn_cast_or_null<CallInst>(RI->getPrevNode());
        CI && CI->isMustTailCall()) {
      R.Why = SkipReason::MustTail; // nothing may sit between them
    } else if (FP.Void) {
      R.Record = true;
    } else {
      R.Plan = planRet(F, *RI, FP.Ret, R.Why);
      R.Record = R.Plan.has_value();
    }
    FP.Rets.push_back(std::move(R));
  }
  return FP;
}

} // namespace kcovdf
