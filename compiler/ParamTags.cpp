//===- ParamTags.cpp - which source parameter each IR argument carries ----===//
//
// Runs at the start of the pipeline, before any optimisation. There, clang's
// prologue is still as it emitted it: every parameter has storage (an alloca,
// or the argument itself when passed in memory) declared by #dbg_declare, and
// the IR arguments that carry the parameter are stored into that storage
// before the declaration, possibly through a temporary (coerced structs,
// 16-byte integers). Reading those stores gives, for any target and calling
// convention, exactly which bytes of which parameter each argument holds.
//
// The answer is kept as a string attribute on the argument. Interprocedural
// passes keep the attributes of the arguments they keep and create new
// arguments without them, so at OptimizerLast an argument that still has its
// tag still carries those bytes; one that lost it carries nothing we know.
//
// The return type clang chose is kept as a function attribute, so that a
// return value whose type an optimisation rewrote is recognised.
//
//===----------------------------------------------------------------------===//

#include "KcovDataflow.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/Dwarf.h"
#include "llvm/IR/DebugProgramInstruction.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/Support/raw_ostream.h"

namespace kcovdf {

std::string ParamTag::str() const {
  if (Indirect)
    return utostr(Idx) + ":ptr";
  return utostr(Idx) + ":" + utostr(Offset) + ":" + utostr(Pieces);
}

std::optional<ParamTag> ParamTag::parse(StringRef S) {
  SmallVector<StringRef, 3> Parts;
  S.split(Parts, ':');
  ParamTag T;
  if (Parts.size() == 2 && Parts[1] == "ptr" &&
      !Parts[0].getAsInteger(10, T.Idx)) {
    T.Indirect = true;
    return T;
  }
  if (Parts.size() != 3 || Parts[0].getAsInteger(10, T.Idx) ||
      Parts[1].getAsInteger(10, T.Offset) ||
      Parts[2].getAsInteger(10, T.Pieces) || T.Pieces == 0)
    return std::nullopt;
  return T;
}

std::optional<ParamTag> readTag(const Argument &A) {
  const Function *F = A.getParent();
  Attribute Attr = F->getAttributes().getParamAttr(A.getArgNo(), ParamTagAttr);
  if (!Attr.isValid() || !Attr.isStringAttribute())
    return std::nullopt;
  return ParamTag::parse(Attr.getValueAsString());
}

void stripTags(Module &M) {
  for (Function &F : M) {
    if (F.hasFnAttribute(RetTagAttr))
      F.removeFnAttr(RetTagAttr);
    for (Argument &A : F.args())
      if (F.getAttributes().hasParamAttr(A.getArgNo(), ParamTagAttr))
        F.removeParamAttr(A.getArgNo(), ParamTagAttr);
  }
}

namespace {

struct Piece {
  Argument *Arg;
  uint64_t Offset; // bytes within the parameter's storage
  uint64_t Size;   // store size of the argument
};

// The alloca a pointer points into and the constant byte offset, if any.
AllocaInst *allocaBase(Value *Ptr, const DataLayout &DL, int64_t &Off) {
  APInt O(DL.getIndexTypeSizeInBits(Ptr->getType()), 0);
  Value *Base = Ptr->stripAndAccumulateConstantOffsets(DL, O, true);
  Off = O.getSExtValue();
  return dyn_cast<AllocaInst>(Base);
}

// The argument a prologue store writes: the argument itself, a _Bool
// argument widened to its in-memory byte, or on a little-endian target the
// low bytes of a wider one (a 3-byte struct coerced to i64), which are the
// first bytes of the argument stored whole.
Argument *storedArgument(Value *V, const DataLayout &DL) {
  if (auto *A = dyn_cast<Argument>(V))
    return A;
  if (auto *Z = dyn_cast<ZExtInst>(V))
    if (Z->getSrcTy()->isIntegerTy(1))
      return dyn_cast<Argument>(Z->getOperand(0));
  if (auto *T = dyn_cast<TruncInst>(V))
    if (DL.isLittleEndian() && !T->getDestTy()->isIntegerTy(1))
      return dyn_cast<Argument>(T->getOperand(0));
  return nullptr;
}

class PrologueReader {
public:
  PrologueReader(const DataLayout &DL,
                 const SmallPtrSetImpl<const Value *> &Variables)
      : DL(DL), Variables(Variables) {}

  // Collects into Out the argument pieces written to X by the instructions
  // of X's block that come before Limit, shifted by Shift bytes. False if
  // anything else may write X there.
  bool collect(AllocaInst *X, Instruction *Limit, uint64_t Shift,
               SmallVectorImpl<Piece> &Out, unsigned Depth = 0) const;

private:
  const DataLayout &DL;
  // The storage of source variables: never a temporary of the prologue.
  const SmallPtrSetImpl<const Value *> &Variables;

  bool fromTemporary(Value *SrcPtr, Instruction *At, uint64_t Bytes,
                     uint64_t Shift, SmallVectorImpl<Piece> &Out,
                     unsigned Depth) const;
};

// Bytes [0, Bytes) of the alloca SrcPtr points at (offset 0), as written
// before At, land at Shift.
bool PrologueReader::fromTemporary(Value *SrcPtr, Instruction *At,
                                   uint64_t Bytes, uint64_t Shift,
                                   SmallVectorImpl<Piece> &Out,
                                   unsigned Depth) const {
  int64_t SrcOff;
  AllocaInst *Y = allocaBase(SrcPtr, DL, SrcOff);
  if (!Y || SrcOff != 0 || Y->getParent() != At->getParent() ||
      Variables.count(Y))
    return false;
  SmallVector<Piece, 4> Inner;
  if (!collect(Y, At, 0, Inner, Depth + 1))
    return false;
  // A piece the copy cuts short (a 3-byte struct coerced to i64) still
  // lands whole in the slot: the bytes past the copy are never read, as
  // the fields and scalars read lie within the parameter.
  for (const Piece &P : Inner)
    if (P.Offset < Bytes)
      Out.push_back({P.Arg, P.Offset + Shift, P.Size});
  return true;
}

bool PrologueReader::collect(AllocaInst *X, Instruction *Limit, uint64_t Shift,
                             SmallVectorImpl<Piece> &Out,
                             unsigned Depth) const {
  if (Depth > 3)
    return false;
  for (Instruction &I : *Limit->getParent()) {
    if (&I == Limit)
      return true;
    if (auto *S = dyn_cast<StoreInst>(&I)) {
      int64_t Off;
      if (S->getValueOperand()->getType()->isPointerTy() &&
          allocaBase(S->getValueOperand(), DL, Off) == X)
        return false; // X's address escapes
      if (allocaBase(S->getPointerOperand(), DL, Off) != X)
        continue;
      if (Off < 0 || S->isVolatile())
        return false;
      Value *V = S->getValueOperand();
      uint64_t Size = DL.getTypeStoreSize(V->getType());
      if (Argument *A = storedArgument(V, DL)) {
        Out.push_back({A, Shift + Off, DL.getTypeStoreSize(A->getType())});
        continue;
      }
      // A value assembled in a temporary and loaded whole (16-byte
      // integers arrive as two eightbytes).
      if (auto *L = dyn_cast<LoadInst>(V))
        if (!L->isVolatile() && L->getParent() == S->getParent() &&
            fromTemporary(L->getPointerOperand(), L, Size, Shift + Off, Out,
                          Depth))
          continue;
      return false;
    }
    if (auto *MC = dyn_cast<MemCpyInst>(&I)) {
      int64_t Off;
      if (allocaBase(MC->getDest(), DL, Off) != X)
        continue;
      auto *Len = dyn_cast<ConstantInt>(MC->getLength());
      if (Off < 0 || MC->isVolatile() || !Len ||
          !fromTemporary(MC->getSource(), MC, Len->getZExtValue(),
                         Shift + Off, Out, Depth))
        return false;
      continue;
    }
    // Address arithmetic and reads write nothing; writes through a
    // derived address are found by allocaBase above.
    if (isa<DbgInfoIntrinsic>(&I) || isa<LoadInst>(&I) ||
        isa<GetElementPtrInst>(&I))
      continue;
    if (auto *II = dyn_cast<IntrinsicInst>(&I))
      if (II->isLifetimeStartOrEnd())
        continue;
    // Anything else that reaches X (a call, a memset, an escape) may write
    // it: the storage then holds more than the arguments.
    for (Value *Op : I.operands()) {
      int64_t Off;
      if (Op->getType()->isPointerTy() && allocaBase(Op, DL, Off) == X)
        return false;
    }
  }
  return false; // Limit is not in X's block
}

// The byte ranges a parameter's value must come from entirely: every field
// (its first 8 bytes, all the kernel reads), or the value's first 8 bytes.
bool covered(ArrayRef<Piece> Pieces, const Shape &S) {
  auto Covers = [&](uint64_t Begin, uint64_t End) {
    for (uint64_t B = Begin; B < End; ++B)
      if (none_of(Pieces, [&](const Piece &P) {
            return P.Offset <= B && B < P.Offset + P.Size;
          }))
        return false;
    return true;
  };
  if (S.Kind == ShapeKind::Aggregate && S.Fields) {
    for (const Field &F : *S.Fields)
      if (!Covers(F.Offset, F.Offset + std::min<uint64_t>(F.Size, 8)))
        return false;
    return true;
  }
  return Covers(0, std::min<uint64_t>(S.Size, 8)) && S.Size != 0;
}

bool overlapping(ArrayRef<Piece> Pieces) {
  for (unsigned I = 0; I < Pieces.size(); ++I)
    for (unsigned J = I + 1; J < Pieces.size(); ++J)
      if (Pieces[I].Arg == Pieces[J].Arg ||
          (Pieces[I].Offset < Pieces[J].Offset + Pieces[J].Size &&
           Pieces[J].Offset < Pieces[I].Offset + Pieces[I].Size))
        return true;
  return false;
}

// Each parameter's storage, from its first declaration (#dbg_declare, or
// with assignment tracking the #dbg_assign of its alloca) in the entry
// block. Variables collects the storage of every variable.
struct Declared {
  const DILocalVariable *Var;
  Value *Storage;
  // The storage holds the address of the value (DW_OP_deref): clang keeps
  // an indirectly passed argument's pointer in a slot at -O0.
  bool Deref = false;
};

SmallVector<Declared, 8> declarations(Function &F, const DISubprogram *SP,
                                      SmallPtrSetImpl<const Value *> &Variables) {
  SmallVector<Declared, 8> Out;
  SmallSet<const DILocalVariable *, 8> Seen;
  auto Visit = [&](const DILocalVariable *Var, const DIExpression *Expr,
                   const DebugLoc &Loc, Value *Storage) {
    if (Storage)
      Variables.insert(Storage->stripPointerCasts());
    bool Deref = Expr->getNumElements() == 1 &&
                 Expr->getElement(0) == dwarf::DW_OP_deref;
    if (!Var || !Var->getArg() || Var->getScope() != SP ||
        (Loc && Loc->getInlinedAt()) || !Storage ||
        (Expr->getNumElements() != 0 && !Deref) || !Seen.insert(Var).second)
      return;
    Out.push_back({Var, Storage, Deref});
  };
  for (Instruction &I : F.getEntryBlock()) {
    for (DbgVariableRecord &DVR : filterDbgVars(I.getDbgRecordRange())) {
      if (DVR.isDbgDeclare())
        Visit(DVR.getVariable(), DVR.getExpression(), DVR.getDebugLoc(),
              DVR.getVariableLocationOp(0));
      else if (DVR.isDbgAssign())
        Visit(DVR.getVariable(), DVR.getAddressExpression(),
              DVR.getDebugLoc(), DVR.getAddress());
    }
    if (auto *DD = dyn_cast<DbgDeclareInst>(&I))
      Visit(DD->getVariable(), DD->getExpression(), DD->getDebugLoc(),
            DD->getAddress());
  }
  return Out;
}

// The end of clang's prologue: the first instruction of the entry block
// that comes from a source line. The prologue stores the arguments into the
// parameters' storage; the body may then overwrite them.
Instruction *prologueEnd(Function &F) {
  for (Instruction &I : F.getEntryBlock())
    if (const DebugLoc &DL = I.getDebugLoc(); DL && DL.getLine() != 0)
      return &I;
  return F.getEntryBlock().getTerminator();
}

void tagFunction(Function &F, const DISubprogram *SP, FieldTables &Tables) {
  const DataLayout &DL = F.getDataLayout();
  std::vector<SourceParam> Params = sourceParams(SP);
  SmallPtrSet<const Value *, 16> Variables;
  SmallVector<Declared, 8> Decls = declarations(F, SP, Variables);
  Instruction *End = prologueEnd(F);
  PrologueReader Reader(DL, Variables);
  DenseMap<Argument *, ParamTag> Tags;
  SmallSet<Argument *, 8> Conflicts;
  auto Add = [&](Argument *A, ParamTag T) {
    if (!Tags.try_emplace(A, T).second)
      Conflicts.insert(A);
  };
  for (const Declared &D : Decls) {
    unsigned Idx = D.Var->getArg() - 1;
    if (Idx >= Params.size())
      continue;
    Shape S = shapeOf(Params[Idx].Type, Tables);
    if (auto *A = dyn_cast<Argument>(D.Storage)) {
      // Passed in memory: the argument is the address of the value.
      if (A->getType()->isPointerTy() && !A->hasStructRetAttr()) {
        ParamTag T;
        T.Idx = Idx;
        T.Indirect = true;
        Add(A, T);
      }
      continue;
    }
    auto *X = dyn_cast<AllocaInst>(D.Storage);
    SmallVector<Piece, 4> Pieces;
    if (D.Deref) {
      // The slot must hold exactly one pointer argument, the value's address.
      if (X && X->getParent() == End->getParent() &&
          Reader.collect(X, End, 0, Pieces) && Pieces.size() == 1 &&
          Pieces[0].Offset == 0 &&
          Pieces[0].Arg->getType()->isPointerTy() &&
          !Pieces[0].Arg->hasStructRetAttr()) {
        ParamTag T;
        T.Idx = Idx;
        T.Indirect = true;
        Add(Pieces[0].Arg, T);
      }
      continue;
    }
    if (!X || X->getParent() != End->getParent() ||
        !Reader.collect(X, End, 0, Pieces) || Pieces.empty() ||
        overlapping(Pieces) || !covered(Pieces, S))
      continue;
    for (const Piece &P : Pieces) {
      ParamTag T;
      T.Idx = Idx;
      T.Offset = P.Offset;
      T.Pieces = Pieces.size();
      Add(P.Arg, T);
    }
  }
  for (auto &[A, T] : Tags) {
    if (Conflicts.count(A))
      continue;
    F.addParamAttr(A->getArgNo(),
                   Attribute::get(F.getContext(), ParamTagAttr, T.str()));
  }
  std::string RetType;
  raw_string_ostream OS(RetType);
  F.getReturnType()->print(OS);
  F.addFnAttr(RetTagAttr, OS.str());
}

} // namespace

bool tagModule(Module &M) {
  FieldTables Tables;
  bool Changed = false;
  for (Function &F : M) {
    if (F.isDeclaration())
      continue;
    const DISubprogram *SP = fullSubprogram(F);
    if (!SP)
      continue;
    tagFunction(F, SP, Tables);
    Changed = true;
  }
  return Changed;
}

} // namespace kcovdf
